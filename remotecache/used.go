package remotecache

import (
	"encoding/hex"
	"maps"
	"slices"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/solver"
)

// keyHex is the salted key as records name it remotely.
func keyHex(k solver.Key) string { return hex.EncodeToString(k[:]) }

// Used collects the records one build loaded or saved, by salted key:
// what a --cache-to exports. The zero value is ready to use.
type Used struct {
	mu   sync.Mutex
	seen map[string]*ops.State
}

// Note remembers a record the build used; directory states (contexts,
// downloads) are never records.
func (u *Used) Note(k solver.Key, s *ops.State) {
	if s == nil || s.Dir != nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen == nil {
		u.seen = map[string]*ops.State{}
	}
	u.seen[keyHex(k)] = s
}

// Has reports whether the record under k was noted.
func (u *Used) Has(k solver.Key) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.seen[keyHex(k)]
	return ok
}

// Records returns what a --cache-to of mode exports: with "max" every
// record solved or loaded in this build; with "min" only those whose
// layers all belong to the final image, including such records among
// from, the imported --cache-from (nil when none): a rebuild that hits at
// the top never loads the steps below it, and its inline records must
// still equal the last build's for the image digest to repeat.
func (u *Used) Records(final *ops.State, mode string, from *Cache) map[string]*ops.State {
	u.mu.Lock()
	defer u.mu.Unlock()
	if mode == "max" {
		return maps.Clone(u.seen)
	}
	inFinal := map[v1.Hash]bool{}
	for _, l := range final.Layers {
		inFinal[l.Digest] = true
	}
	within := func(s *ops.State) bool {
		return !slices.ContainsFunc(s.Layers, func(l ops.Layer) bool { return !inFinal[l.Digest] })
	}
	out := map[string]*ops.State{}
	if from != nil {
		for k, s := range from.records {
			if within(s) {
				out[k] = s
			}
		}
	}
	for k, s := range u.seen {
		if within(s) {
			out[k] = s
		}
	}
	return out
}

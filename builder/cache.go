package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/remotecache"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/solver"
)

// buildCache adapts the persistent cache to the solver: directory states
// (contexts, downloads) are never stored, and --no-cache loads nothing
// but still records what it built. Records are kept apart per layer
// compression, since a record names compressed blobs.
//
// Records made with an epoch (SOURCE_DATE_EPOCH or the default one) are
// kept apart from records made with the build's clock
// (--reproducible=false), but serve every epoch: the image's layers are
// restamped to its epoch (restamped).
//
// How one build uses --cache-from and --cache-to: the buildCache notes
// every record it loads or saves (for the export), falls back to the
// imported records on a local miss, and the content store fetches an
// imported blob only when its bytes are needed.
type buildCache struct {
	root        *root.Root
	noCache     bool
	compression archive.Compression
	epoch       *time.Time
	remote      *remotecache.Cache // --cache-from records; nil without
	mountIDs    []string           // ids of the RUN cache mounts in the graph, for cache-mounts=true
	used        remotecache.Used   // records loaded or saved, for --cache-to

	mu   sync.Mutex
	keys []solver.Key // every step's key (unsalted), for mode=max
}

// namespace names the cache records a build with this compression and
// epoch uses; records of other namespaces are kept apart.
func namespace(comp archive.Compression, epoch *time.Time) string {
	ns := "compression=" + comp.String()
	if epoch != nil {
		// Not the value: records serve every epoch, their layers
		// restamped for the image (restamped).
		ns += " epoch"
	}
	return ns
}

func (c *buildCache) key(k solver.Key) solver.Key {
	if c.compression == archive.Gzip && c.epoch == nil {
		return k
	}
	return solver.ComputeKey(k, []solver.Key{sha256.Sum256([]byte(namespace(c.compression, c.epoch)))})
}

func (c *buildCache) Load(ctx context.Context, k solver.Key) (*ops.State, bool, error) {
	if c.noCache {
		return nil, false, nil
	}
	sk := c.key(k)
	s, ok, err := c.root.Cache.Load(ctx, sk)
	if err == nil && !ok {
		if s, ok = c.remote.Load(sk); ok {
			// Kept locally too: once its blobs are local or lazy, a
			// later build without --cache-from finds it.
			err = c.root.Cache.Save(ctx, sk, s)
		}
	}
	if ok {
		c.used.Note(sk, s)
	}
	return s, ok, err
}

func (c *buildCache) Save(ctx context.Context, k solver.Key, s *ops.State) error {
	if s.Dir != nil {
		return nil
	}
	c.used.Note(c.key(k), s)
	return c.root.Cache.Save(ctx, c.key(k), s)
}

// Claim backs cache records with a per-key lock shared by every gorae
// process on the root (solver.Claimer, root.Claim): of concurrent builds
// that miss the same key, one executes the step and the others wait,
// then load its record. The lock is on the salted key, the name the
// record is saved under, so builds whose records are kept apart (another
// compression or SOURCE_DATE_EPOCH) do not wait for each other.
//
// With --no-cache nothing is claimed: such a build executes every step
// by definition, so waiting for another would save nothing. Directory
// states (contexts, downloads), which are never saved, are sources, and
// the solver claims no source.
func (c *buildCache) Claim(ctx context.Context, k solver.Key, onWait func()) (func(), error) {
	if c.root.Outside {
		// A claim comes before an Exec, which the cache-only try cannot
		// do: go to the namespace now rather than wait on another build
		// with nothing shown.
		return nil, ops.ErrNeedsNamespace
	}
	if c.noCache {
		return func() {}, nil
	}
	sk := c.key(k)
	return c.root.Claim(ctx, hex.EncodeToString(sk[:]), onWait)
}

var _ solver.Claimer = (*buildCache)(nil)

// startImport reads every --cache-from (manifests and configs only) in
// the background, while the Dockerfile's base images resolve: both are
// registry round trips, and a build whose every step is cached is little
// else. The returned function waits for it (nil without --cache-from).
func startImport(ctx context.Context, o Options) func() *remotecache.Cache {
	if len(o.CacheFrom) == 0 || o.NoCache {
		return func() *remotecache.Cache { return nil } // --no-cache loads no record, local or remote
	}
	done := make(chan *remotecache.Cache, 1)
	go func() { done <- remotecache.Import(ctx, o.CacheFrom, o.Registry, o.Progress.Warnf) }()
	return sync.OnceValue(func() *remotecache.Cache { return <-done })
}

// importRemote takes the --cache-from records startImport read and lets
// root's content store fetch their blobs on demand. Call the returned
// function when the build ends.
func (c *buildCache) importRemote(ctx context.Context, o Options, imported func() *remotecache.Cache) func() {
	if len(o.CacheFrom) == 0 || o.NoCache {
		return func() {}
	}
	st := o.Progress.Step("importing cache manifest from " + specList(o.CacheFrom))
	c.remote = imported()
	o.Progress.Logf("imported %d cache records from %d --cache-from", c.remote.Len(), len(o.CacheFrom))
	st.End(nil)
	store := c.root.Content
	store.SetFetcher(c.remote.Fetcher(ctx, o.Progress))
	return func() { store.SetFetcher(nil) }
}

// seedMount returns the ops.Env hook that restores a missing cache mount
// directory from the imported caches (remotecache.Cache.SeedMount),
// reading them when a RUN asks: a --cache-from is imported after the
// vertices are made.
func (c *buildCache) seedMount(p *progress.Printer) func(ctx context.Context, id, dir string) error {
	return func(ctx context.Context, id, dir string) error {
		return c.remote.SeedMount(ctx, id, dir, p, p.Logf, p.Warnf)
	}
}

// retry reports whether err came from an imported blob that could not be
// fetched intact; the records naming it are then dropped, a warning is
// printed, and the build should solve again (what already ran is in the
// local cache, so only the steps that trusted the blob run).
func (c *buildCache) retry(err error, warn func(string, ...any)) bool {
	var fe *content.FetchError
	if err == nil || !errors.As(err, &fe) || !c.remote.MarkBad(fe.Digest) {
		return false
	}
	warn("cache blob %s is unusable (%v); rebuilding the steps that needed it", fe.Digest, fe.Err)
	return true
}

// records returns what a --cache-to of mode exports (remotecache.Used).
func (c *buildCache) records(mode string, finals ...*ops.State) map[string]*ops.State {
	if len(finals) == 1 {
		return c.used.Records(finals[0], mode, c.remote)
	}
	out := map[string]*ops.State{}
	for _, f := range finals {
		maps.Copy(out, c.used.Records(f, mode, c.remote))
	}
	return out
}

// withCacheExtras adds inline records (--cache-to type=inline) to the
// image config, and offers the final image's imported layers as mountable
// from their cache repository, so a push to the same registry mounts them.
func (c *buildCache) withCacheExtras(img v1.Image, final *ops.State, to []remotecache.Spec) (v1.Image, error) {
	if slices.ContainsFunc(to, func(s remotecache.Spec) bool { return s.Type == "inline" }) {
		var err error
		if img, err = remotecache.WithInline(img, c.records("min", final)); err != nil {
			return nil, fmt.Errorf("--cache-to type=inline: %w", err)
		}
	}
	return c.remote.Mountable(img), nil
}

// setKeys keeps the key of every step of the build (solver.Options.Keys).
func (c *buildCache) setKeys(keys []solver.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = keys
}

// noteBelowHits notes the local record of every step the solve did not
// reach: a cache hit resolves nothing below it, yet mode=max exports
// every step, so that a later build that changes something high up still
// finds the steps below cached.
func (c *buildCache) noteBelowHits(ctx context.Context) {
	c.mu.Lock()
	keys := c.keys
	c.mu.Unlock()
	for _, k := range keys {
		sk := c.key(k)
		if c.used.Has(sk) {
			continue
		}
		if s, ok, err := c.root.Cache.Load(ctx, sk); err == nil && ok {
			c.used.Note(sk, s)
		} else if s, ok := c.remote.Load(sk); ok {
			c.used.Note(sk, s)
		}
	}
}

// exportCaches writes every --cache-to but inline (which went into the
// image).
func exportCaches(ctx context.Context, r *root.Root, o Options, bc *buildCache, finals []*ops.State) error {
	if slices.ContainsFunc(o.CacheTo, func(s remotecache.Spec) bool { return s.Mode == "max" && s.Type != "inline" }) {
		bc.noteBelowHits(ctx)
	}
	if len(o.CacheTo) == 0 {
		return nil
	}
	st := o.Progress.Step("exporting cache to " + specList(o.CacheTo))
	err := remotecache.Export(ctx, remotecache.ExportOptions{
		To: o.CacheTo, Content: r.Content, From: bc.remote,
		Records:   func(mode string) map[string]*ops.State { return bc.records(mode, finals...) },
		MountsDir: filepath.Join(r.Dir, "mounts"), MountIDs: bc.mountIDs,
		Registry: o.Registry, Jobs: o.Jobs, Progress: o.Progress,
	})
	st.End(err)
	return err
}

// specList names cache specs in a step's name: "type=registry,ref=…".
func specList[S fmt.Stringer](specs []S) string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.String()
	}
	return strings.Join(names, " ")
}

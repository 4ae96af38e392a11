package remotecache

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/progress"
)

// Cache mounts that travel (--cache-to …,cache-mounts=true): each
// RUN --mount=type=cache directory the build uses goes into the cache as
// one compressed tar blob, named in the cache config's "mounts" object by
// mount id; a --cache-from that carries one seeds the local directory the
// first time a RUN that executes needs it (docs/remote-cache.md).

// MountIDs lists, sorted, the ids of the cache mounts of every RUN in
// the graph under roots, whether the RUN will execute or not: the build
// uses them either way (a cached RUN's mount was filled when it ran).
func MountIDs(roots []*graph.Node) []string {
	ids := map[string]bool{}
	graph.Walk(roots, func(n *graph.Node) error {
		if r, ok := n.Op.(graph.Run); ok {
			for _, m := range r.Mounts {
				if m.Type == "cache" {
					ids[m.ID] = true
				}
			}
		}
		return nil
	})
	return slices.Sorted(maps.Keys(ids))
}

// exportMounts packs the local directory of every id (skipping ids that
// have none) into the content store, once for all --cache-to that ask for
// cache mounts; nil when none does. A directory that cannot be packed (a
// concurrent build writing to it, say) is left out with a warning: the
// rest of the cache is still worth exporting. Each packing shows on p (if
// not nil) as a transfer ("packing cache mount "/root/.cache" 120 MB"):
// packing a large mount takes seconds before any upload starts.
func exportMounts(ctx context.Context, c *content.Store, mountsDir string, ids []string, to []Spec, jobs int, warn func(string, ...any), p *progress.Printer) (map[string]ops.Layer, error) {
	if !slices.ContainsFunc(to, func(s Spec) bool { return s.CacheMounts }) {
		return nil, nil
	}
	out := map[string]ops.Layer{}
	for _, id := range ids {
		l, ok, err := packMount(ctx, c, ops.CacheMountDir(mountsDir, id), jobs, mountMeter{p, id})
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if err != nil {
			warn("cache mount %q is left out of the cache: %v", id, err)
			continue
		}
		if ok {
			out[id] = l
		}
	}
	return out, nil
}

// mountsFor is what one --cache-to carries of the packed mounts.
func mountsFor(s Spec, packed map[string]ops.Layer) map[string]ops.Layer {
	if !s.CacheMounts {
		return nil
	}
	return packed
}

// mergeMounts keeps the mounts of an existing cache and adds this
// build's (same id: this build's wins, being newer).
func mergeMounts(old *cacheConfig, mounts map[string]ops.Layer) map[string]ops.Layer {
	out := map[string]ops.Layer{}
	if old != nil {
		maps.Copy(out, old.Mounts)
	}
	maps.Copy(out, mounts)
	return out
}

// addMounts adds the cache mounts of one imported cache config to
// mountSeeds (an earlier --cache-from wins), skipping any whose blob the
// cache does not carry.
func (r *Cache) addMounts(s Spec, cfg *cacheConfig, layers map[v1.Hash]v1.Descriptor, warn func(string, ...any)) {
	for _, id := range slices.Sorted(maps.Keys(cfg.Mounts)) {
		l := cfg.Mounts[id]
		if _, ok := layers[l.Digest]; !ok || !validDigest(l.Digest) {
			warn("cache import from %s: cache mount %q names a blob the cache does not hold; it will start empty", s, id)
			continue
		}
		if r.seeds == nil {
			r.seeds = &mountSeeds{blobs: map[string]ops.Layer{}, state: map[string]*seedState{}}
		}
		if _, dup := r.seeds.blobs[id]; !dup {
			r.seeds.blobs[id] = l
		}
	}
}

// mountSeeds are the imported cache mounts by id, and which ones this
// build already tried to seed.
type mountSeeds struct {
	blobs map[string]ops.Layer

	mu    sync.Mutex
	state map[string]*seedState
}

// seedState serializes the seeding of one id within a build, so that two
// RUNs needing it at once download it once, and a failure warns once.
type seedState struct {
	mu   sync.Mutex
	done bool
}

// SeedMount creates the missing cache mount directory dir of mount id
// from the imported caches, if one carries it (ops.Env.SeedCacheMount),
// showing the download on p (if not nil) as a transfer ("fetching cache
// mount "/var/cache/apt" 120 MB / 460 MB"): a large mount takes seconds
// to restore while its RUN waits. A mount that cannot be restored is a
// warning; the RUN starts with it empty.
func (r *Cache) SeedMount(ctx context.Context, id, dir string, p *progress.Printer, logf, warn func(string, ...any)) error {
	if r == nil || r.seeds == nil {
		return nil
	}
	return r.seed(ctx, id, dir, mountMeter{p, id}, logf, warn)
}

func (r *Cache) seed(ctx context.Context, id, dir string, m mountMeter, logf, warn func(string, ...any)) error {
	l, ok := r.seeds.blobs[id]
	if !ok {
		return nil
	}
	src, ok := r.blobs[l.Digest]
	if !ok { // addMounts checked it; kept for safety
		return nil
	}
	r.seeds.mu.Lock()
	st := r.seeds.state[id]
	if st == nil {
		st = &seedState{}
		r.seeds.state[id] = st
	}
	r.seeds.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return nil
	}
	err := unpackMount(ctx, dir, l, func(ctx context.Context) (io.ReadCloser, error) {
		rc, _, err := src.open(ctx, l.Digest)
		if err != nil {
			return nil, err
		}
		return m.fetch(rc, l.Size), nil
	})
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	st.done = true
	if err != nil {
		warn("cache mount %q is not restored from %s: %v; it starts empty", id, sourceName(src), err)
		return nil
	}
	logf("restored cache mount %q from %s (%s)", id, sourceName(src), progress.FormatSize(l.Size))
	return nil
}

func sourceName(b blobSource) string {
	if b.dir != "" {
		return b.dir
	}
	return b.repo.String()
}

// mountLayerType is the media type of a cache mount blob: a tar of the
// directory (its root entry first, named ""), zstd-compressed.
const mountLayerType = "application/vnd.gorae.cache.mount.v1.tar+zstd"

func errBadDigest(want, got v1.Hash) error {
	return fmt.Errorf("blob is corrupt: expected %s, got %s", want, got)
}

// mountMeter shows the packing or the download of cache mount id on p as
// a transfer; a nil p shows nothing.
type mountMeter struct {
	p  *progress.Printer
	id string
}

// fetch meters rc, the compressed blob of size bytes.
func (m mountMeter) fetch(rc io.ReadCloser, size int64) io.ReadCloser {
	return &progress.MeteredReader{ReadCloser: rc, Transfer: m.p.Transfer, ID: "restore cache mount " + m.id,
		Running: fmt.Sprintf("fetching cache mount %q", m.id), Finished: fmt.Sprintf("fetched cache mount %q", m.id), Total: size}
}

// packWriter counts the uncompressed tar bytes of a packing (its size is
// unknown until the walk ends) and shows them.
type packWriter struct {
	w io.Writer
	m mountMeter
	n int64
}

func (w *packWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.n += int64(n)
	if n > 0 {
		w.m.p.Transfer("pack cache mount "+w.m.id, fmt.Sprintf("packing cache mount %q", w.m.id), w.n, 0)
	}
	return n, err
}

// end finishes the transfer, or drops it after a failure.
func (w *packWriter) end(ok bool) {
	id := "pack cache mount " + w.m.id
	if !ok || w.n == 0 {
		w.m.p.Transfer(id, "", -1, 0)
		return
	}
	w.m.p.Transfer(id, fmt.Sprintf("packed cache mount %q", w.m.id), w.n, w.n)
}

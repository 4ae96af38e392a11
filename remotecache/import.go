package remotecache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/solver"
)

// The remote cache format (docs/remote-cache.md): one image manifest whose
// config blob holds every record and whose layers are every blob the
// records name, so that a registry keeps them.
const (
	cacheConfigType types.MediaType = "application/vnd.gorae.cache.config.v1+json"
	cacheVersion                    = 1
	// inlineCacheField is the image config field holding inline records.
	inlineCacheField = "gorae.cache.v1"
	// maxCacheConfig bounds a config blob read into memory: a corrupt or
	// hostile cache must not exhaust memory.
	maxCacheConfig = 64 << 20
)

// cacheConfig is the config blob of a cache manifest (and the value of
// inlineCacheField in an image config). Keys are salted cache keys in hex
// (the builder salts them), so compression and epoch stay apart remotely
// too.
type cacheConfig struct {
	Version int                   `json:"version"`
	Records map[string]*ops.State `json:"records"`
	// Mounts are RUN --mount=type=cache contents by mount id
	// (cache-mounts=true; cachemounts.go).
	Mounts map[string]ops.Layer `json:"mounts,omitempty"`
}

// blobSource is where an imported blob can be read from.
type blobSource struct {
	// repo is set for a registry source (and lets a push to the same
	// registry mount the blob instead of uploading it).
	repo name.Repository
	dir  string // an OCI layout directory
	size int64
	ro   registry.Options
}

func (b blobSource) open(ctx context.Context, d v1.Hash) (io.ReadCloser, int64, error) {
	if b.dir != "" {
		f, err := os.Open(filepath.Join(b.dir, "blobs", d.Algorithm, d.Hex))
		if err != nil {
			return nil, 0, err
		}
		return f, b.size, nil
	}
	l, err := remote.Layer(b.repo.Digest(d.String()), b.ro.Remote(ctx)...)
	if err != nil {
		return nil, 0, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, 0, registry.Explain(err, b.repo.String())
	}
	return rc, b.size, nil
}

// Cache is what the --cache-from sources offer: records by salted
// key, and where each blob they name lives. Only manifests and configs are
// read at import; blobs are fetched by the content store when needed.
type Cache struct {
	records map[string]*ops.State
	blobs   map[v1.Hash]blobSource
	seeds   *mountSeeds // imported cache mounts; nil when none

	mu  sync.Mutex
	bad map[v1.Hash]bool // blobs that failed to fetch intact
}

// Len is the number of imported records.
func (r *Cache) Len() int { return len(r.records) }

// Load returns the imported record for the salted key k, unless one of
// its blobs proved corrupt in this build. A nil Cache has no records.
func (r *Cache) Load(k solver.Key) (*ops.State, bool) {
	if r == nil {
		return nil, false
	}
	return r.load(keyHex(k))
}

// load returns the record named k (a salted key in hex).
func (r *Cache) load(k string) (*ops.State, bool) {
	s, ok := r.records[k]
	if !ok {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range s.Layers {
		if r.bad[l.Digest] {
			return nil, false
		}
	}
	return s, true
}

// MarkBad drops every record naming d; it reports whether d came from a
// remote cache (and so whether rebuilding without it can help).
func (r *Cache) MarkBad(d v1.Hash) bool {
	if r == nil {
		return false
	}
	if _, ok := r.blobs[d]; !ok {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bad[d] {
		return false
	}
	r.bad[d] = true
	return true
}

// Fetcher is the content store's Fetcher over the imported blobs for one
// build: a read through Open, which has no context of its own, fetches
// under ctx (the build's), and each download shows on p as a transfer.
func (r *Cache) Fetcher(ctx context.Context, p *progress.Printer) content.Fetcher {
	meter := newFetchMeter(p)
	return func(fctx context.Context, d v1.Hash) (io.ReadCloser, int64, error) {
		if fctx.Done() == nil {
			fctx = ctx
		}
		rc, size, err := r.fetch(fctx, d)
		if err != nil {
			return nil, 0, err
		}
		return meter.reader(rc, d, size), size, nil
	}
}

// fetch reads an imported blob from the source that holds it.
func (r *Cache) fetch(ctx context.Context, d v1.Hash) (io.ReadCloser, int64, error) {
	src, ok := r.blobs[d]
	if !ok {
		return nil, 0, fmt.Errorf("no cache source has blob %s: %w", d, os.ErrNotExist)
	}
	return src.open(ctx, d)
}

// Import reads the manifests and configs of every --cache-from. A
// source that is missing, unreachable, unauthorized or corrupt is a
// warning: the build goes on without it.
func Import(ctx context.Context, specs []Spec, ro registry.Options, warn func(string, ...any)) *Cache {
	rc := &Cache{records: map[string]*ops.State{}, blobs: map[v1.Hash]blobSource{}, bad: map[v1.Hash]bool{}}
	for _, s := range specs {
		cfg, layers, src, err := readCache(ctx, s, ro)
		if err == nil && cfg == nil {
			err = errors.New("it holds no gorae cache records (build it with --cache-to type=registry or type=inline)")
		}
		if err != nil {
			if ctx.Err() != nil {
				return rc
			}
			warn("cache import from %s skipped: %v", s, err)
			continue
		}
		for _, l := range layers {
			if _, ok := rc.blobs[l.Digest]; !ok {
				src.size = l.Size
				rc.blobs[l.Digest] = src
			}
		}
		n := 0
		for k, st := range cfg.Records {
			if !recordUsable(st, layers) {
				warn("cache import from %s: record %.12s names a blob the cache does not hold; the step will be rebuilt", s, k)
				continue
			}
			if _, dup := rc.records[k]; !dup { // earlier --cache-from wins
				rc.records[k] = st
				n++
			}
		}
		rc.addMounts(s, cfg, layers, warn)
	}
	return rc
}

// recordUsable checks an imported record: well-formed digests, each one
// among the blobs its cache carries.
func recordUsable(s *ops.State, layers map[v1.Hash]v1.Descriptor) bool {
	if s == nil {
		return false
	}
	for _, l := range s.Layers {
		if _, ok := layers[l.Digest]; !ok || !validDigest(l.Digest) {
			return false
		}
	}
	return true
}

func validDigest(d v1.Hash) bool {
	if d.Algorithm != "sha256" || len(d.Hex) != 64 {
		return false
	}
	for _, c := range d.Hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// readCache reads one cache source: its records (nil when it holds none)
// and the blobs its manifest carries.
func readCache(ctx context.Context, s Spec, ro registry.Options) (*cacheConfig, map[v1.Hash]v1.Descriptor, blobSource, error) {
	if s.Type == "local" {
		return readLocalCache(s.Dir)
	}
	ref, err := ro.Parse(s.Ref)
	if err != nil {
		return nil, nil, blobSource{}, err
	}
	src := blobSource{repo: ref.Context(), ro: ro}
	desc, err := remote.Get(ref, ro.Remote(ctx)...)
	if err != nil {
		return nil, nil, src, registry.Explain(err, s.Ref)
	}
	m, err := parseCacheManifest(desc.MediaType, desc.Manifest)
	if err != nil {
		return nil, nil, src, err
	}
	rc, _, err := src.open(ctx, m.Config.Digest)
	if err != nil {
		return nil, nil, src, fmt.Errorf("read config blob: %w", err)
	}
	defer rc.Close()
	cfg, err := parseCacheConfig(rc, m.Config)
	return cfg, layerSet(m), src, err
}

// parseCacheManifest accepts one image manifest (a cache, or an image with
// inline records).
func parseCacheManifest(mt types.MediaType, raw []byte) (*v1.Manifest, error) {
	if mt != types.OCIManifestSchema1 && mt != types.DockerManifestSchema2 {
		return nil, fmt.Errorf("it is a %s, not an image manifest; name one platform's image or a cache", mt)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	return m, nil
}

// parseCacheConfig reads a config blob, verifies its digest and returns
// its records: the whole blob for a cache config, the inline field for an
// image config (nil when the image has none).
func parseCacheConfig(r io.Reader, desc v1.Descriptor) (*cacheConfig, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxCacheConfig+1))
	if err != nil {
		return nil, fmt.Errorf("read config blob: %w", err)
	}
	if len(b) > maxCacheConfig {
		return nil, fmt.Errorf("config blob %s is larger than %d bytes", desc.Digest, maxCacheConfig)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(b)); got != desc.Digest {
		return nil, fmt.Errorf("config blob is corrupt: expected %s, got %s", desc.Digest, got)
	}
	if desc.MediaType != cacheConfigType {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			return nil, fmt.Errorf("parse image config: %w", err)
		}
		inline, ok := fields[inlineCacheField]
		if !ok {
			return nil, nil
		}
		b = inline
	}
	var cfg cacheConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("cache config is corrupt: %w", err)
	}
	if cfg.Version != cacheVersion {
		return nil, fmt.Errorf("cache format version %d is not supported (this gorae reads version %d); export the cache again", cfg.Version, cacheVersion)
	}
	return &cfg, nil
}

func layerSet(m *v1.Manifest) map[v1.Hash]v1.Descriptor {
	out := make(map[v1.Hash]v1.Descriptor, len(m.Layers))
	for _, l := range m.Layers {
		out[l.Digest] = l
	}
	return out
}

package remotecache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/registry"
)

// Registries offer no compare-and-swap on tags, so concurrent exports to
// one ref merge optimistically: put the union of what is there and this
// export's records, wait, read the ref again, and merge again while
// this export's records are missing (docs/remote-cache.md, "Concurrent
// exports").
const (
	// retryMin and retryMax bound the random pause before another round,
	// which spreads out exports that collided.
	retryMin, retryMax = 10 * time.Millisecond, 200 * time.Millisecond
	// maxSettle bounds the wait between a put and the check.
	maxSettle = 5 * time.Second
)

// mergeRounds bounds the put-and-check rounds of one export (a variable
// so that a test can give up sooner).
var mergeRounds = 20

// registryCache is what a ref holds: records (nil when none, or when the
// cache there is unreadable), the blobs its manifest carries and the
// manifest's digest (zero when there is none).
type registryCache struct {
	cfg    *cacheConfig
	layers map[v1.Hash]v1.Descriptor
	digest v1.Hash
}

// exportRegistry writes the cache to s.Ref; meter, if given, shows and
// counts the blobs it uploads and the rounds it took (tests leave it out
// or give one without a printer).
//
// This export's blobs go up first (remote.Pusher: a HEAD per blob, the
// missing ones uploaded or mounted registry.Options.Jobs at a time).
// Then each round reads the ref, merges, and puts config and manifest;
// reading right before the put keeps the window in which a concurrent
// export can slip in between to milliseconds, and a failure before the
// put leaves the cache there in place.
func exportRegistry(ctx context.Context, c *content.Store, rc *Cache, s Spec, ro registry.Options, recs map[string]*ops.State, mounts map[string]ops.Layer, warn func(string, ...any), meter *cacheMeter) error {
	ref, err := ro.Parse(s.Ref)
	if err != nil {
		return err
	}
	// An unreadable cache at the ref is read several times; say so once.
	warned := false
	warnOnce := func(format string, a ...any) {
		if !warned {
			warned = true
			warn(format, a...)
		}
	}
	read := func() (registryCache, error) { return readRegistryCache(ctx, ref, s.Ref, ro, warnOnce) }
	cur, err := read()
	if err != nil {
		return err
	}
	mine := ownPart(recs, mounts, available(c, rc, cur.layers))
	p, err := remote.NewPusher(ro.Remote(ctx)...)
	if err != nil {
		return err
	}
	if err := uploadBlobs(ctx, p, ref.Context(), c, rc, mine.layers, ro.Jobs, meter); err != nil {
		return pushError(ctx, err, s.Ref)
	}
	for round := 1; ; round++ {
		meter.setRounds(round)
		start := time.Now()
		if cur, err = read(); err != nil {
			return err
		}
		m, cfg, err := cacheManifest(merge(cur.cfg, recs), mergeMounts(cur.cfg, mounts), mine.with(available(c, rc, cur.layers)))
		if err != nil {
			return err
		}
		meter.expect(len(m.Layers))
		raw, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if d, _, _ := v1.SHA256(bytes.NewReader(raw)); d == cur.digest {
			return nil // the ref holds exactly this merge: nothing to write
		}
		if err := p.Upload(ctx, ref.Context(), static.NewLayer(cfg, cacheConfigType)); err != nil {
			return pushError(ctx, err, s.Ref)
		}
		if err := p.Put(ctx, ref, rawManifest{raw: raw, mediaType: m.MediaType}); err != nil {
			return pushError(ctx, err, s.Ref)
		}
		// An export that read the ref before this put and puts after it
		// replaces this merge. Wait longer than this round's own read to
		// put took (others take about as long) before checking, so the
		// check sees such a put and merges again.
		if err := sleep(ctx, settleTime(time.Since(start))); err != nil {
			return err
		}
		if cur, err = read(); err != nil {
			return err
		}
		missing := mine.missingFrom(cur.cfg, cur.layers)
		if missing == 0 {
			return nil
		}
		if round == mergeRounds {
			return fmt.Errorf("another writer keeps replacing %s: after %d rounds of reading it again and merging, %d of this export's %d records and cache mounts are still missing there; give builds that export at the same time their own cache refs (e.g. one per branch or target), or export again when they are done",
				s.Ref, round, missing, mine.total())
		}
		if err := sleep(ctx, jitter(retryMin, retryMax)); err != nil {
			return err
		}
	}
}

// settleTime is how long a put waits before its check: twice the read
// and put it followed, plus a random pause, at most maxSettle.
func settleTime(window time.Duration) time.Duration {
	return min(2*window+jitter(retryMin, retryMax), maxSettle)
}

func jitter(lo, hi time.Duration) time.Duration {
	return lo + rand.N(hi-lo)
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// uploadBlobs puts this export's blobs into repo, jobs at a time (0 means
// 4, as registry.Options says); blobs imported from another repository of
// the same registry are mounted instead.
func uploadBlobs(ctx context.Context, p *remote.Pusher, repo name.Repository, c *content.Store, rc *Cache, blobs []v1.Descriptor, jobs int, meter *cacheMeter) error {
	g, gctx := errgroup.WithContext(ctx)
	if jobs <= 0 {
		jobs = 4
	}
	g.SetLimit(jobs)
	for _, l := range blobs {
		layer := meter.layer(c.Layer(l.Digest, v1.Hash{}, l.Size, l.MediaType))
		if from, ok := mountSource(rc, l.Digest, repo); ok {
			layer = &remote.MountableLayer{Layer: layer, Reference: from}
		}
		g.Go(func() error { return p.Upload(gctx, repo, layer) })
	}
	return g.Wait()
}

func pushError(ctx context.Context, err error, ref string) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return registry.Explain(err, ref)
}

// rawManifest is a manifest to put as it is (its blobs are there).
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// readRegistryCache reads the cache at ref for a merge: an unreadable
// cache there is a warning and counts as none, so the export replaces
// it; shown is the ref as the user wrote it.
func readRegistryCache(ctx context.Context, ref name.Reference, shown string, ro registry.Options, warn func(string, ...any)) (registryCache, error) {
	cur, err := existingRegistryCache(ctx, ref, ro)
	var corrupt *corruptCache
	if errors.As(err, &corrupt) {
		warn("the cache at %s is unreadable and will be replaced: %v", shown, err)
		return registryCache{digest: cur.digest}, nil
	}
	return cur, err
}

// corruptCache is an existing cache that cannot be read; an export
// replaces it.
type corruptCache struct{ err error }

func (e *corruptCache) Error() string { return e.err.Error() }
func (e *corruptCache) Unwrap() error { return e.err }

// existingRegistryCache reads the cache at ref, if any. An image at ref
// is an error, so that a typo never overwrites an image with a cache.
func existingRegistryCache(ctx context.Context, ref name.Reference, ro registry.Options) (registryCache, error) {
	desc, err := remote.Get(ref, ro.Remote(ctx)...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return registryCache{}, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return registryCache{}, context.Cause(ctx)
		}
		return registryCache{}, registry.Explain(err, ref.String())
	}
	m, err := parseCacheManifest(desc.MediaType, desc.Manifest)
	if err != nil {
		return registryCache{}, fmt.Errorf("%s already holds something else: %w; choose another ref", ref, err)
	}
	if m.Config.MediaType != cacheConfigType {
		return registryCache{}, fmt.Errorf("%s already holds an image, not a gorae cache; choose another ref (images carry inline records with type=inline)", ref)
	}
	src := blobSource{repo: ref.Context(), ro: ro}
	rc, _, err := src.open(ctx, m.Config.Digest)
	if err != nil {
		return registryCache{}, fmt.Errorf("read the existing cache config: %w", err)
	}
	defer rc.Close()
	cur := registryCache{layers: layerSet(m), digest: desc.Digest}
	cfg, err := parseCacheConfig(rc, m.Config)
	if err != nil {
		return cur, &corruptCache{err}
	}
	cur.cfg = cfg
	return cur, nil
}

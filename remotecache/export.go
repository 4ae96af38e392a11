package remotecache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
)

// ExportOptions are what Export needs of one build.
type ExportOptions struct {
	To      []Spec // every --cache-to; inline ones went into the image
	Content *content.Store
	From    *Cache // the imported --cache-from; nil when none
	// Records gives the records a --cache-to of mode exports
	// (Used.Records).
	Records func(mode string) map[string]*ops.State
	// MountsDir holds the RUN cache mounts, MountIDs the ids this build
	// uses (MountIDs); they travel with cache-mounts=true.
	MountsDir string
	MountIDs  []string
	Registry  registry.Options
	Jobs      int
	Progress  *progress.Printer
}

// Export writes every --cache-to but inline (which went into the image).
// A failure is an error, since the user asked for the cache, unless the
// spec says ignore-error=true.
func Export(ctx context.Context, o ExportOptions) error {
	mounts, err := exportMounts(ctx, o.Content, o.MountsDir, o.MountIDs, o.To, o.Jobs, o.Progress.Warnf, o.Progress)
	if err != nil {
		return err
	}
	for _, s := range o.To {
		recs := o.Records(s.Mode)
		var err error
		meter, verb := newExportMeter(o.Progress), "uploaded"
		switch s.Type {
		case "registry":
			err = exportRegistry(ctx, o.Content, o.From, s, o.Registry, recs, mountsFor(s, mounts), o.Progress.Warnf, meter)
		case "local":
			err = exportLocal(o.Content, o.From, s.Dir, recs, mountsFor(s, mounts), o.Progress.Warnf, meter)
			verb = "written"
		default:
			continue
		}
		if err != nil && s.IgnoreError {
			o.Progress.Warnf("cache export to %s failed (ignore-error=true): %v", s, err)
			continue
		}
		if err != nil {
			return fmt.Errorf("--cache-to %s: %w", s, err)
		}
		o.Progress.Logf("cache export to %s: %s, %s", s, plural(len(recs), "record"), meter.summary(verb))
	}
	return nil
}

// cacheManifest builds the manifest and config for records and cache
// mounts, keeping only those whose every blob has returns true; layers are
// sorted by digest so that equal caches give equal manifests.
func cacheManifest(recs map[string]*ops.State, mounts map[string]ops.Layer, has func(v1.Hash) bool) (*v1.Manifest, []byte, error) {
	cfg := cacheConfig{Version: cacheVersion, Records: map[string]*ops.State{}}
	layers := map[v1.Hash]v1.Descriptor{}
	for id, l := range mounts {
		if has(l.Digest) {
			if cfg.Mounts == nil {
				cfg.Mounts = map[string]ops.Layer{}
			}
			cfg.Mounts[id] = l
			layers[l.Digest] = v1.Descriptor{MediaType: l.MediaType, Size: l.Size, Digest: l.Digest}
		}
	}
	for k, s := range recs {
		if s == nil || slices.ContainsFunc(s.Layers, func(l ops.Layer) bool { return !has(l.Digest) }) {
			continue
		}
		cfg.Records[k] = s
		for _, l := range s.Layers {
			layers[l.Digest] = v1.Descriptor{MediaType: l.MediaType, Size: l.Size, Digest: l.Digest}
		}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("encode cache config: %w", err)
	}
	d, _, _ := v1.SHA256(bytes.NewReader(raw))
	m := &v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: cacheConfigType, Size: int64(len(raw)), Digest: d}}
	for _, k := range slices.SortedFunc(maps.Keys(layers), func(a, b v1.Hash) int { return compareHex(a.Hex, b.Hex) }) {
		m.Layers = append(m.Layers, layers[k])
	}
	return m, raw, nil
}

func compareHex(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// merge appends recs to the existing records (new ones win), so builds of
// different branches can share one cache.
func merge(old *cacheConfig, recs map[string]*ops.State) map[string]*ops.State {
	out := map[string]*ops.State{}
	if old != nil {
		maps.Copy(out, old.Records)
	}
	maps.Copy(out, recs)
	return out
}

// available reports whether a blob can be exported: stored locally, in the
// destination already, or fetchable from a --cache-from.
func available(c *content.Store, rc *Cache, there map[v1.Hash]v1.Descriptor) func(v1.Hash) bool {
	return func(d v1.Hash) bool {
		if _, ok := there[d]; ok {
			return true
		}
		if rc != nil {
			if _, ok := rc.blobs[d]; ok {
				return true
			}
		}
		return c.Has(d)
	}
}

// exportRegistry writes the cache to s.Ref; meter, if given, shows and
// counts the blobs it uploads (tests leave it out).
func exportRegistry(ctx context.Context, c *content.Store, rc *Cache, s Spec, ro registry.Options, recs map[string]*ops.State, mounts map[string]ops.Layer, warn func(string, ...any), meter *cacheMeter) error {
	ref, err := ro.Parse(s.Ref)
	if err != nil {
		return err
	}
	old, there, err := existingRegistryCache(ctx, ref, ro)
	if err != nil {
		var corrupt *corruptCache
		if !errors.As(err, &corrupt) {
			return err
		}
		warn("the cache at %s is unreadable and will be replaced: %v", s.Ref, err)
	}
	m, cfg, err := cacheManifest(merge(old, recs), mergeMounts(old, mounts), available(c, rc, there))
	if err != nil {
		return err
	}
	img := &rawImage{config: cfg, mediaType: types.OCIManifestSchema1, layers: map[v1.Hash]v1.Layer{}}
	if img.manifest, err = json.Marshal(m); err != nil {
		return err
	}
	mt := meter.expect(len(m.Layers))
	for _, l := range m.Layers {
		layer := mt.layer(c.Layer(l.Digest, v1.Hash{}, l.Size, l.MediaType))
		if from, ok := mountSource(rc, l.Digest, ref.Context()); ok {
			layer = &remote.MountableLayer{Layer: layer, Reference: from}
		}
		img.layers[l.Digest] = layer
	}
	full, err := partial.CompressedToImage(img)
	if err != nil {
		return err
	}
	// remote.Write checks every blob with HEAD first, uploads or mounts
	// the missing ones concurrently (registry.Options.Jobs, 4 by default)
	// and puts the manifest last: a failure leaves the old cache in place.
	if err := remote.Write(ref, full, ro.Remote(ctx)...); err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return registry.Explain(err, s.Ref)
	}
	return nil
}

// mountSource returns the cache repository on dst's registry (other than
// dst) that holds blob d, for a cross-repository mount.
func mountSource(rc *Cache, d v1.Hash, dst name.Repository) (name.Reference, bool) {
	if rc == nil {
		return nil, false
	}
	src, ok := rc.blobs[d]
	if !ok || src.dir != "" || src.repo.RegistryStr() != dst.RegistryStr() || src.repo.String() == dst.String() {
		return nil, false
	}
	return src.repo.Digest(d.String()), true
}

// corruptCache is an existing cache that cannot be read; an export
// replaces it.
type corruptCache struct{ err error }

func (e *corruptCache) Error() string { return e.err.Error() }
func (e *corruptCache) Unwrap() error { return e.err }

// existingRegistryCache reads the cache at ref, if any: its records and
// the blobs its manifest carries. An image at ref is an error, so that a
// typo never overwrites an image with a cache.
func existingRegistryCache(ctx context.Context, ref name.Reference, ro registry.Options) (*cacheConfig, map[v1.Hash]v1.Descriptor, error) {
	desc, err := remote.Get(ref, ro.Remote(ctx)...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, registry.Explain(err, ref.String())
	}
	m, err := parseCacheManifest(desc.MediaType, desc.Manifest)
	if err != nil {
		return nil, nil, fmt.Errorf("%s already holds something else: %w; choose another ref", ref, err)
	}
	if m.Config.MediaType != cacheConfigType {
		return nil, nil, fmt.Errorf("%s already holds an image, not a gorae cache; choose another ref (images carry inline records with type=inline)", ref)
	}
	src := blobSource{repo: ref.Context(), ro: ro}
	rc, _, err := src.open(ctx, m.Config.Digest)
	if err != nil {
		return nil, nil, fmt.Errorf("read the existing cache config: %w", err)
	}
	defer rc.Close()
	cfg, err := parseCacheConfig(rc, m.Config)
	if err != nil {
		return nil, nil, &corruptCache{err}
	}
	return cfg, layerSet(m), nil
}

// exportLocal writes the cache into the OCI layout dir; meter, if given,
// shows and counts the blobs it copies there (tests leave it out).
func exportLocal(c *content.Store, rc *Cache, dir string, recs map[string]*ops.State, mounts map[string]ops.Layer, warn func(string, ...any), meter *cacheMeter) error {
	old, there, _, err := readLocalCache(dir)
	switch {
	case errors.Is(err, os.ErrNotExist), errors.Is(err, errNoLocalCache):
	case err != nil:
		warn("the cache in %s is unreadable and will be replaced: %v", dir, err)
		old, there = nil, nil
	}
	m, cfg, err := cacheManifest(merge(old, recs), mergeMounts(old, mounts), available(c, rc, there))
	if err != nil {
		return err
	}
	return writeLocalCache(dir, c, m, cfg, meter.expect(len(m.Layers)))
}

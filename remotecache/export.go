package remotecache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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
		if !exportable(s, has) {
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

// exportable reports whether cacheManifest keeps record s: every blob it
// names can be exported.
func exportable(s *ops.State, has func(v1.Hash) bool) bool {
	return s != nil && !slices.ContainsFunc(s.Layers, func(l ops.Layer) bool { return !has(l.Digest) })
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

// exportLocal writes the cache into the OCI layout dir; meter, if given,
// shows and counts the blobs it copies there (tests leave it out). The
// blobs go in first, unlocked (each is written by rename); then, under
// the directory's lock, index.json is read again, merged with this
// export and replaced, so concurrent exports to dir all keep their
// records.
func exportLocal(c *content.Store, rc *Cache, dir string, recs map[string]*ops.State, mounts map[string]ops.Layer, warn func(string, ...any), meter *cacheMeter) error {
	if err := initLayout(dir); err != nil {
		return err
	}
	_, there, _, _ := readLocalCache(dir) // only which blobs are there; read again under the lock
	mine := ownPart(recs, mounts, available(c, rc, there))
	if err := writeLayoutBlobs(dir, c, mine.layers, meter); err != nil {
		return err
	}
	unlock, err := lockLayout(dir)
	if err != nil {
		return err
	}
	defer unlock()
	old, there, _, err := readLocalCache(dir)
	switch {
	case errors.Is(err, os.ErrNotExist), errors.Is(err, errNoLocalCache):
	case err != nil:
		warn("the cache in %s is unreadable and will be replaced: %v", dir, err)
		old, there = nil, nil
	}
	m, cfg, err := cacheManifest(merge(old, recs), mergeMounts(old, mounts), mine.with(available(c, rc, there)))
	if err != nil {
		return err
	}
	return writeLocalCache(dir, c, m, cfg, meter.expect(len(m.Layers)))
}

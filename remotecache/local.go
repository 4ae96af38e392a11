package remotecache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/content"
)

// localCacheName is the index.json annotation naming the cache manifest in
// a type=local directory, so the directory can hold other images too.
const localCacheName = "gorae-cache"

const refNameAnnotation = "org.opencontainers.image.ref.name"

// errNoLocalCache is a layout directory without a cache manifest.
var errNoLocalCache = errors.New("it holds no gorae cache (no index.json entry named " + localCacheName + ")")

func readIndex(dir string) (*v1.IndexManifest, error) {
	f, err := os.Open(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx, err := v1.ParseIndexManifest(f)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "index.json"), err)
	}
	return idx, nil
}

// readLayoutBlob reads a small blob (manifest, config) of an OCI layout
// and verifies it.
func readLayoutBlob(dir string, d v1.Descriptor) ([]byte, error) {
	if !validDigest(d.Digest) {
		return nil, fmt.Errorf("invalid digest %q", d.Digest)
	}
	f, err := os.Open(filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCacheConfig+1))
	if err != nil {
		return nil, err
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(b)); got != d.Digest {
		return nil, fmt.Errorf("blob %s is corrupt (it hashes to %s)", d.Digest, got)
	}
	return b, nil
}

// findLocalCache returns the cache manifest named in dir's index.json,
// or ok=false when there is none.
func findLocalCache(idx *v1.IndexManifest) (v1.Descriptor, bool) {
	for _, m := range idx.Manifests {
		if m.Annotations[refNameAnnotation] == localCacheName {
			return m, true
		}
	}
	return v1.Descriptor{}, false
}

func readLocalCache(dir string) (*cacheConfig, map[v1.Hash]v1.Descriptor, blobSource, error) {
	src := blobSource{dir: dir}
	idx, err := readIndex(dir)
	if err != nil {
		return nil, nil, src, err
	}
	desc, ok := findLocalCache(idx)
	if !ok {
		return nil, nil, src, errNoLocalCache
	}
	raw, err := readLayoutBlob(dir, desc)
	if err != nil {
		return nil, nil, src, fmt.Errorf("read cache manifest: %w", err)
	}
	m, err := parseCacheManifest(desc.MediaType, raw)
	if err != nil {
		return nil, nil, src, err
	}
	b, err := readLayoutBlob(dir, m.Config)
	if err != nil {
		return nil, nil, src, fmt.Errorf("read cache config: %w", err)
	}
	cfg, err := parseCacheConfig(bytes.NewReader(b), m.Config)
	return cfg, layerSet(m), src, err
}

// initLayout makes dir an OCI layout, if it is not one yet.
func initLayout(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); errors.Is(err, os.ErrNotExist) {
		if err := content.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
			return err
		}
	}
	return nil
}

// writeLayoutBlobs copies the blobs dir lacks from the content store
// (fetching lazily; shown by meter, which may be nil).
func writeLayoutBlobs(dir string, c *content.Store, blobs []v1.Descriptor, meter *cacheMeter) error {
	for _, l := range blobs {
		open := func() (io.ReadCloser, error) {
			rc, err := c.Open(l.Digest)
			if err != nil {
				return nil, err
			}
			return meter.reader(rc, l.Digest, l.Size), nil
		}
		if err := copyBlobTo(dir, l.Digest, open); err != nil {
			return fmt.Errorf("write blob %s: %w", l.Digest, err)
		}
	}
	return nil
}

// writeLocalCache writes the cache into the OCI layout dir (made by
// initLayout): blobs it lacks (writeLayoutBlobs), config, manifest, and
// last index.json by rename, so an interrupted export leaves the previous
// cache in place. The caller holds the directory's lock (lockLayout).
func writeLocalCache(dir string, c *content.Store, m *v1.Manifest, config []byte, meter *cacheMeter) error {
	if err := writeLayoutBlobs(dir, c, m.Layers, meter); err != nil {
		return err
	}
	if err := putLayoutBlob(dir, config); err != nil {
		return fmt.Errorf("write cache config: %w", err)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := putLayoutBlob(dir, raw); err != nil {
		return fmt.Errorf("write cache manifest: %w", err)
	}
	md, _, _ := v1.SHA256(bytes.NewReader(raw))
	idx, err := readIndex(dir)
	if errors.Is(err, os.ErrNotExist) {
		idx, err = &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return err
	}
	desc := v1.Descriptor{MediaType: m.MediaType, Digest: md, Size: int64(len(raw)),
		Annotations: map[string]string{refNameAnnotation: localCacheName}}
	kept := idx.Manifests[:0]
	for _, x := range idx.Manifests {
		if x.Annotations[refNameAnnotation] != localCacheName {
			kept = append(kept, x)
		}
	}
	idx.Manifests = append(kept, desc)
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return content.WriteFile(filepath.Join(dir, "index.json"), append(b, '\n'))
}

func putLayoutBlob(dir string, b []byte) error {
	d, _, _ := v1.SHA256(bytes.NewReader(b))
	return copyBlobTo(dir, d, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// copyBlobTo writes blob d into dir unless it is already there: temp file,
// digest check, rename.
func copyBlobTo(dir string, d v1.Hash, open func() (io.ReadCloser, error)) (err error) {
	if !validDigest(d) {
		return fmt.Errorf("invalid digest %q", d)
	}
	dst := filepath.Join(dir, "blobs", d.Algorithm, d.Hex)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+d.Hex[:12]+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h, err := v1.Hasher(d.Algorithm)
	if err != nil {
		return err
	}
	if _, err = io.Copy(io.MultiWriter(f, h), rc); err != nil {
		return err
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != d.Hex {
		return fmt.Errorf("content hashes to sha256:%s, not %s", got, d)
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}

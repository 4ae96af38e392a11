package store

import (
	"context"
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// exportJobs bounds how many layers are compressed and written at once
// during Export; compression is CPU-bound, so more would only contend.
const exportJobs = 4

// Export stores img: every layer blob not already present, the config and
// the manifest go to the content store first, then all names point at the
// manifest in one index update, so a reader never sees a name whose blobs
// are missing. With no names the image is kept under its digest only.
// Export implements the exporter interface.
func (s *Store) Export(ctx context.Context, img v1.Image, names []string) error {
	full, err := tagNames(names)
	if err != nil {
		return err
	}
	desc, err := s.putImage(ctx, img)
	if err != nil {
		return err
	}
	return s.name(ctx, desc, full)
}

// putImage writes img's blobs (layers not yet present, config, manifest)
// and returns the manifest's descriptor.
func (s *Store) putImage(ctx context.Context, img v1.Image) (v1.Descriptor, error) {
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("export image: %w", err)
	}
	if !isImageType(mt) {
		return v1.Descriptor{}, fmt.Errorf("export image: unsupported manifest media type %q: the local store holds OCI and Docker v2 schema 2 image manifests", mt)
	}
	if err := s.putLayers(ctx, img, true); err != nil {
		return v1.Descriptor{}, err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("export image config: %w", err)
	}
	want, err := img.ConfigName()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("export image config: %w", err)
	}
	if got, err := s.c.PutBytes(cfg); err != nil {
		return v1.Descriptor{}, fmt.Errorf("export image config: %w", err)
	} else if got != want {
		return v1.Descriptor{}, fmt.Errorf("export image config: manifest names %s but the config hashes to %s", want, got)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("export image manifest: %w", err)
	}
	d, err := s.c.PutBytes(raw)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("export image manifest: %w", err)
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(raw))}, nil
}

// name points every name in full at desc in one index update; with no
// names desc gets an unnamed entry unless it is already reachable.
func (s *Store) name(ctx context.Context, desc v1.Descriptor, full []string) error {
	return s.update(ctx, func(idx *v1.IndexManifest) error {
		for _, n := range full {
			setName(idx, n, desc)
		}
		if len(full) == 0 {
			for _, m := range idx.Manifests {
				if m.Digest == desc.Digest {
					return nil // already reachable, by a name or by digest
				}
			}
			idx.Manifests = append(idx.Manifests, desc)
		}
		return nil
	})
}

// FetchLayers writes every layer of img whose bytes are not local,
// lazy ones too (a pull that must not leave anything in the registry).
func (s *Store) FetchLayers(ctx context.Context, img v1.Image) error {
	return s.putLayers(ctx, img, false)
}

// putLayers writes the layers of img missing from the content store,
// exportJobs at a time; the first error stops the rest. With lazyOK, a
// lazy blob (content.AddRemote) counts as present.
func (s *Store) putLayers(ctx context.Context, img v1.Image, lazyOK bool) error {
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("export image layers: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, exportJobs)
	var wg sync.WaitGroup
	for _, l := range layers {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.putLayer(ctx, l, lazyOK); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

func (s *Store) putLayer(ctx context.Context, l v1.Layer, lazyOK bool) error {
	mt, err := l.MediaType()
	if err != nil {
		return fmt.Errorf("export layer: %w", err)
	}
	if !mt.IsDistributable() {
		return nil // foreign layers are fetched from their URLs, never stored
	}
	d, err := l.Digest()
	if err != nil {
		return fmt.Errorf("export layer: %w", err)
	}
	if s.c.Has(d) {
		return nil
	}
	if _, lazy := s.c.Remote(d); lazy && lazyOK {
		return nil // a lazy blob: fetched when something reads it
	}
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("export layer %s: %w", d, err)
	}
	defer rc.Close()
	if _, _, err := s.c.Put(ctx, rc, d); err != nil {
		return fmt.Errorf("export layer %s: %w", d, err)
	}
	return nil
}

package store

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ExportIndex stores a multi-platform image: the blobs of every child
// image (as Export stores one; lazy layers stay lazy), then the index
// manifest, then all names point at the index in one index update, so a
// reader never sees a name whose children are missing. With no names the
// index is kept under its digest only.
func (s *Store) ExportIndex(ctx context.Context, idx v1.ImageIndex, names []string) error {
	full, err := tagNames(names)
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("export image index: %w", err)
	}
	for _, c := range im.Manifests {
		if isIndexType(c.MediaType) {
			return fmt.Errorf("export image index: manifest %s is itself an index: the local store holds one level of index", c.Digest)
		}
		img, err := idx.Image(c.Digest)
		if err != nil {
			return fmt.Errorf("export image index: %s image: %w", childLabel(c), err)
		}
		if err := s.putChild(ctx, img, c.Digest); err != nil {
			return fmt.Errorf("export image index: %s image: %w", childLabel(c), err)
		}
	}
	desc, err := s.putIndex(idx)
	if err != nil {
		return err
	}
	return s.name(ctx, desc, full)
}

// ExportPlatform stores img, one child of idx, and the index manifest,
// then names the index: the other children stay as they are, present if
// stored before, else absent until they are pulled (ImageFor says
// ErrNotFound for them). This is how a pull of one platform of a
// multi-platform image keeps the name an index, so that pulling another
// platform of it adds to the index instead of replacing it.
func (s *Store) ExportPlatform(ctx context.Context, idx v1.ImageIndex, img v1.Image, names []string) error {
	full, err := tagNames(names)
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("export image index: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return fmt.Errorf("export image: %w", err)
	}
	listed := false
	for _, c := range im.Manifests {
		listed = listed || c.Digest == d
	}
	if !listed {
		return fmt.Errorf("export image index: image %s is not one of the index's manifests", d)
	}
	if err := s.putChild(ctx, img, d); err != nil {
		return err
	}
	desc, err := s.putIndex(idx)
	if err != nil {
		return err
	}
	return s.name(ctx, desc, full)
}

// putChild stores a child image the index names by digest want.
func (s *Store) putChild(ctx context.Context, img v1.Image, want v1.Hash) error {
	desc, err := s.putImage(ctx, img)
	if err != nil {
		return err
	}
	if desc.Digest != want {
		return fmt.Errorf("the index names manifest %s but the image's manifest hashes to %s", want, desc.Digest)
	}
	return nil
}

// putIndex writes the index manifest and returns its descriptor.
func (s *Store) putIndex(idx v1.ImageIndex) (v1.Descriptor, error) {
	mt, err := idx.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("export image index: %w", err)
	}
	if !isIndexType(mt) {
		return v1.Descriptor{}, fmt.Errorf("export image index: unsupported media type %q: the local store holds OCI image indexes and Docker manifest lists", mt)
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("export image index: %w", err)
	}
	d, err := s.c.PutBytes(raw)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("export image index: %w", err)
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(raw))}, nil
}

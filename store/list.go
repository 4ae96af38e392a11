package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Image is one line of List.
type Image struct {
	Name   string  // normalized name; "" for an image stored without one
	Digest v1.Hash // of the manifest, or of the index of a multi-platform image
	// Size is the manifest, config and compressed layers; for a
	// multi-platform image the index and every stored child's.
	Size    int64
	Created time.Time // a multi-platform image's: its newest child's
	// Platforms are "os/arch[/variant]": the image config's, or the
	// stored children's of a multi-platform image, in the index's order.
	Platforms []string
	// Index is set for a multi-platform image: Digest is its index.
	Index bool
	// Children are a multi-platform image's image manifests that are
	// stored (a pulled one may lack some platforms), in the index's order.
	Children []v1.Descriptor
}

// List returns every stored image, sorted by name (unnamed images first,
// by digest).
func (s *Store) List(ctx context.Context) ([]Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []Image
	for _, d := range idx.Manifests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		im := Image{Name: d.Annotations[refName], Digest: d.Digest, Size: d.Size, Index: isIndexType(d.MediaType)}
		if im.Index {
			err = s.listIndex(&im)
		} else {
			err = s.listImage(&im, d)
		}
		if err != nil {
			return nil, fmt.Errorf("list images: %s: %w", im.Name, err)
		}
		out = append(out, im)
	}
	slices.SortFunc(out, func(a, b Image) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Digest.Hex, b.Digest.Hex)
	})
	return out, nil
}

// listImage adds the image d's blobs, creation time and platform to im.
func (s *Store) listImage(im *Image, d v1.Descriptor) error {
	img, err := s.load(d)
	if err != nil {
		return err
	}
	if m, err := img.Manifest(); err == nil {
		im.Size += m.Config.Size
		for _, l := range m.Layers {
			im.Size += l.Size
		}
	}
	if cf, err := img.ConfigFile(); err == nil {
		if cf.Created.After(im.Created) {
			im.Created = cf.Created.Time
		}
		if p := configPlatform(cf); p != "" {
			im.Platforms = append(im.Platforms, p)
		}
	}
	return nil
}

// listIndex adds every stored child of the index im to it.
func (s *Store) listIndex(im *Image) error {
	m, err := s.readIndexManifest(im.Digest)
	if err != nil {
		return err
	}
	for _, c := range m.Manifests {
		if isIndexType(c.MediaType) || !s.c.Has(c.Digest) {
			continue
		}
		child := Image{Size: c.Size}
		if err := s.listImage(&child, c); err != nil {
			return fmt.Errorf("%s image: %w", childLabel(c), err)
		}
		im.Size += child.Size
		if child.Created.After(im.Created) {
			im.Created = child.Created
		}
		if p := platforms([]v1.Descriptor{c}); len(p) > 0 {
			im.Platforms = append(im.Platforms, p...)
		}
		im.Children = append(im.Children, c)
	}
	return nil
}

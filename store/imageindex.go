package store

import (
	"bytes"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// readIndexManifest reads and parses the stored index manifest d.
func (s *Store) readIndexManifest(d v1.Hash) (*v1.IndexManifest, error) {
	raw, err := readBlob(s.c, d)
	if err != nil {
		return nil, fmt.Errorf("read index manifest: %w", err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse index manifest %s: %w", d, err)
	}
	return im, nil
}

// children returns, when called, the image manifests of idx's indexes
// that are stored: the manifests a digest may name besides idx's own.
func (s *Store) children(idx *v1.IndexManifest) func() []v1.Descriptor {
	return func() []v1.Descriptor {
		var out []v1.Descriptor
		for _, d := range idx.Manifests {
			if !isIndexType(d.MediaType) {
				continue
			}
			im, err := s.readIndexManifest(d.Digest)
			if err != nil {
				continue // Image, Index and List say what is wrong with it
			}
			for _, c := range im.Manifests {
				if !isIndexType(c.MediaType) && s.c.Has(c.Digest) {
					out = append(out, c)
				}
			}
		}
		return out
	}
}

// loadIndex builds the v1.ImageIndex for the index d, which name names.
func (s *Store) loadIndex(d v1.Descriptor, name string) (*storedIndex, error) {
	raw, err := readBlob(s.c, d.Digest)
	if err != nil {
		return nil, fmt.Errorf("read index manifest: %w", err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse index manifest %s: %w", d.Digest, err)
	}
	return &storedIndex{s: s, name: name, desc: d, raw: raw, m: im}, nil
}

// storedIndex is a multi-platform image in the store. A child image
// whose manifest was never stored (a pull stores one platform) is an
// error naming the platform to pull.
type storedIndex struct {
	s    *Store
	name string
	desc v1.Descriptor
	raw  []byte
	m    *v1.IndexManifest
}

var _ v1.ImageIndex = (*storedIndex)(nil)

func (x *storedIndex) MediaType() (types.MediaType, error)         { return x.desc.MediaType, nil }
func (x *storedIndex) Digest() (v1.Hash, error)                    { return x.desc.Digest, nil }
func (x *storedIndex) Size() (int64, error)                        { return int64(len(x.raw)), nil }
func (x *storedIndex) RawManifest() ([]byte, error)                { return x.raw, nil }
func (x *storedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) { return nil, x.nested(h) }

func (x *storedIndex) IndexManifest() (*v1.IndexManifest, error) {
	m := *x.m
	m.Manifests = append([]v1.Descriptor(nil), x.m.Manifests...)
	return &m, nil
}

// Image returns the child image h.
func (x *storedIndex) Image(h v1.Hash) (v1.Image, error) {
	for _, c := range x.m.Manifests {
		if c.Digest != h {
			continue
		}
		if isIndexType(c.MediaType) {
			return nil, x.nested(h)
		}
		if !x.s.c.Has(h) {
			if c.Platform != nil {
				return nil, &platformError{ref: x.name, want: *c.Platform, index: true, absent: true}
			}
			return nil, fmt.Errorf("manifest %s of %s is not in the local store: %w", h, x.name, ErrNotFound)
		}
		return x.s.load(c)
	}
	return nil, fmt.Errorf("manifest %s is not one of %s's: %w", h, x.name, ErrNotFound)
}

func (x *storedIndex) nested(h v1.Hash) error {
	return fmt.Errorf("manifest %s of %s is an index itself: the local store holds one level of index", h, x.name)
}

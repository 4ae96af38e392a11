package store

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TEMPORARY until mp-store merges.
func (s *Store) ExportIndex(ctx context.Context, idx v1.ImageIndex, names []string) error {
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		if err := s.Export(ctx, img, nil); err != nil {
			return err
		}
	}
	return nil
}

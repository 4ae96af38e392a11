package exporter

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/registry"
)

// ExportIndex pushes idx (its images first, the index last) under every
// name. A stand-in until the full version (progress, lazy layers
// mounted) is merged.
func (r Registry) ExportIndex(ctx context.Context, idx v1.ImageIndex, names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("push image index: no name given; name the image with -t REGISTRY/REPOSITORY:TAG")
	}
	for _, n := range names {
		ref, err := r.Options.Parse(n)
		if err != nil {
			return err
		}
		if err := remote.WriteIndex(ref, idx, r.Options.Remote(ctx)...); err != nil {
			return fmt.Errorf("push %s: %w", n, registry.Explain(err, n))
		}
	}
	return nil
}

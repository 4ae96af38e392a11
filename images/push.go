package images

import (
	"context"
	"errors"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/exporter"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/store"
)

// Push pushes the stored image ref to the registry it names and returns
// its normalized name and manifest digest; a multi-platform image is
// pushed whole (its images, then the index) and the digest is its
// index's. A lazy layer (one a build left
// in a registry cache) is mounted from its cache repository when the
// destination is on the same registry, and only downloaded when it must
// be uploaded; a blob the destination already has is never read.
func Push(ctx context.Context, root *root.Root, ref string, reg registry.Options, p *progress.Printer) (string, v1.Hash, error) {
	n, err := registry.Normalize(ref)
	if err != nil {
		return "", v1.Hash{}, err
	}
	unlock, err := root.Lock(ctx, false)
	if err != nil {
		return "", v1.Hash{}, err
	}
	defer unlock()
	idx, digest, err := root.Images.Index(ctx, n)
	switch {
	case err == nil:
		if err := PushIndex(ctx, root.Content, idx, []string{n}, reg, p); err != nil {
			return "", v1.Hash{}, err
		}
		return n, digest, nil
	case !errors.Is(err, store.ErrNotIndex):
		return "", v1.Hash{}, err
	}
	img, digest, err := root.Images.Image(ctx, n)
	if err != nil {
		return "", v1.Hash{}, err
	}
	if err := PushImage(ctx, root.Content, img, []string{n}, reg, p); err != nil {
		return "", v1.Hash{}, err
	}
	return n, digest, nil
}

// PushImage pushes img under names, shown on p: a lazy layer (see Push)
// is mounted from its cache repository when it can be.
func PushImage(ctx context.Context, c *content.Store, img v1.Image, names []string, reg registry.Options, p *progress.Printer) error {
	e := &exporter.Registry{Options: reg, Progress: pushProgress(p), Lazy: lazySource(c)}
	return e.Export(ctx, img, names)
}

// PushIndex pushes the multi-platform image idx under names, shown on p:
// its images first, then the index; lazy layers as PushImage.
func PushIndex(ctx context.Context, c *content.Store, idx v1.ImageIndex, names []string, reg registry.Options, p *progress.Printer) error {
	e := &exporter.Registry{Options: reg, Progress: pushProgress(p), Lazy: lazySource(c)}
	return e.ExportIndex(ctx, idx, names)
}

// lazySource returns exporter.Registry's Lazy for c: the repository a
// blob that is not local can be fetched, hence mounted, from.
func lazySource(c *content.Store) func(d v1.Hash) (name.Repository, bool) {
	return func(d v1.Hash) (name.Repository, bool) {
		if c.Has(d) {
			return name.Repository{}, false
		}
		src, ok := c.Remote(d)
		if !ok {
			return name.Repository{}, false
		}
		var opts []name.Option
		if src.Insecure {
			opts = append(opts, name.Insecure)
		}
		repo, err := name.NewRepository(src.Ref, opts...)
		if err != nil {
			return name.Repository{}, false
		}
		return repo, true
	}
}

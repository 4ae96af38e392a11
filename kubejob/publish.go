package kubejob

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/bake"
	"github.com/gorae/gorae/bakefile"
	"github.com/gorae/gorae/registry"
)

// Publish puts the staged image under each of the target's tags. In the
// staging repository that is one manifest PUT per tag; another
// repository of the same registry gets the blobs by cross-repository
// mount, another registry gets them copied.
func (b *Builder) Publish(ctx context.Context, t *bakefile.Target, r bake.Result) error {
	names := bake.Names(t)
	if len(names) == 0 {
		return fmt.Errorf("target %s: nothing to push to: give it tags, or an output name= (type=registry,name=REGISTRY/REPO:TAG)", t.Name)
	}
	src, err := b.o.Registry.Parse(r.Ref + "@" + r.Digest)
	if err != nil {
		return fmt.Errorf("target %s: staged image: %w", t.Name, err)
	}
	desc, err := remote.Get(src, b.o.Registry.Remote(ctx)...)
	if err != nil {
		return fmt.Errorf("target %s: read the staged image: %w", t.Name, registry.Explain(err, src.String()))
	}
	for _, tag := range names {
		dst, err := b.o.Registry.Parse(tag)
		if err != nil {
			return fmt.Errorf("target %s: tag: %w", t.Name, err)
		}
		opts := b.o.Registry.Remote(ctx)
		switch {
		case dst.Context() == src.Context():
			err = remote.Put(dst, desc, opts...)
		case desc.MediaType.IsIndex():
			idx, ierr := desc.ImageIndex()
			if ierr != nil {
				return fmt.Errorf("target %s: %w", t.Name, ierr)
			}
			err = remote.WriteIndex(dst, idx, opts...)
		default:
			img, ierr := desc.Image()
			if ierr != nil {
				return fmt.Errorf("target %s: %w", t.Name, ierr)
			}
			err = remote.Write(dst, img, opts...)
		}
		if err != nil {
			return fmt.Errorf("target %s: push %s: %w", t.Name, tag, registry.Explain(err, tag))
		}
		b.log(t.Name, "pushed "+dst.String()+"@"+r.Digest)
	}
	return nil
}

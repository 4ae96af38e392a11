package images

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
)

// Pull fetches ref for platform ("" = this machine) into the store and
// returns the digest of that platform's image manifest. A multi-platform
// image is stored as its index with the platforms pulled so far.
func Pull(ctx context.Context, root *root.Root, ref, platform string, reg registry.Options, p *progress.Printer) (v1.Hash, error) {
	pl, err := ParsePlatform(platform)
	if err != nil {
		return v1.Hash{}, err
	}
	unlock, err := root.Lock(ctx, false)
	if err != nil {
		return v1.Hash{}, err
	}
	defer unlock()
	r := &Resolver{Root: root, Registry: reg, Pull: true, Progress: p}
	ri, err := r.Resolve(ctx, ref, pl)
	if err != nil {
		return v1.Hash{}, err
	}
	if ri.Config.OS != pl.OS || ri.Config.Architecture != pl.Architecture {
		p.Warnf("image %s is for %s/%s, not %s: it has no other platform", ref, ri.Config.OS, ri.Config.Architecture, FormatPlatform(pl))
	}
	return v1.NewHash(ri.Digest)
}

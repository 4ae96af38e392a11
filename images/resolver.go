package images

import (
	"context"
	"errors"
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/imageconfig"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/store"
)

// Resolver pins base images once per build: a name in the local store is
// used as is (like docker build), otherwise, or with --pull, the image is
// pulled from its registry into the store.
type Resolver struct {
	Root     *root.Root
	Registry registry.Options
	Pull     bool
	Progress *progress.Printer
	// Outside is a rootless gorae's cache-only try (ops.Env.Outside):
	// an image that would be pulled is ops.ErrNeedsNamespace instead, so
	// that the pull is shown as it happens, in the namespace.
	Outside bool

	mu   sync.Mutex
	done map[string]*frontend.ResolvedImage
}

var _ frontend.ImageResolver = (*Resolver)(nil)

// Resolve pins ref for platform (frontend.ImageResolver); each name and
// platform is resolved once per Resolver, so once per build.
func (r *Resolver) Resolve(ctx context.Context, ref string, platform v1.Platform) (*frontend.ResolvedImage, error) {
	name, err := registry.Normalize(ref)
	if err != nil {
		return nil, err
	}
	k := name + "\x00" + platform.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if ri, ok := r.done[k]; ok {
		return ri, nil
	}
	ri, err := r.resolve(ctx, name, platform)
	if err != nil {
		return nil, err
	}
	if r.done == nil {
		r.done = map[string]*frontend.ResolvedImage{}
	}
	r.done[k] = ri
	return ri, nil
}

func (r *Resolver) resolve(ctx context.Context, name string, platform v1.Platform) (*frontend.ResolvedImage, error) {
	if !r.Pull {
		img, digest, err := r.Root.Images.Image(ctx, name)
		switch {
		case err == nil:
			cf, err := ConfigOf(img)
			if err != nil {
				return nil, fmt.Errorf("read image %s from the local store: %w", name, err)
			}
			if platformMatches(cf, platform) {
				return &frontend.ResolvedImage{Ref: name, Digest: digest.String(), Config: cf}, nil
			}
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	if r.Outside {
		return nil, ops.ErrNeedsNamespace
	}
	return r.pullImage(ctx, name, platform)
}

func (r *Resolver) pullImage(ctx context.Context, name string, platform v1.Platform) (*frontend.ResolvedImage, error) {
	ref, err := r.Registry.Parse(name)
	if err != nil {
		return nil, err
	}
	r.Progress.Logf("pulling %s", name)
	desc, err := remote.Get(ref, r.Registry.Remote(ctx, remote.WithPlatform(platform))...)
	if err != nil {
		return nil, registry.Explain(err, name)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, registry.Explain(err, name)
	}
	cf, err := ConfigOf(img)
	if err != nil {
		return nil, registry.Explain(err, name)
	}
	if !platformMatches(cf, platform) {
		return nil, fmt.Errorf("image %s is for %s/%s, not %s: choose another image or --platform", name, cf.OS, cf.Architecture, platform.String())
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	if err := r.Root.Images.Export(ctx, pullProgress(img, r.Progress), []string{name}); err != nil {
		return nil, registry.Explain(err, name)
	}
	return &frontend.ResolvedImage{Ref: name, Digest: digest.String(), Config: cf}, nil
}

func platformMatches(cf *imageconfig.File, p v1.Platform) bool {
	if cf.OS != "" && p.OS != "" && cf.OS != p.OS {
		return false
	}
	if cf.Architecture != "" && p.Architecture != "" && cf.Architecture != p.Architecture {
		return false
	}
	return true
}

// ConfigOf reads img's config with gorae's own type, so that fields ggcr's
// v1.ConfigFile has no place for (HEALTHCHECK --start-interval) survive.
func ConfigOf(img v1.Image) (*imageconfig.File, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	return imageconfig.Parse(raw)
}

package images

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	// Lazy leaves a pulled image's layers in the registry until something
	// reads them (recordLazy): what a build wants. gorae pull downloads
	// them all.
	Lazy bool
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
	var local error
	// A digest names one image forever: with --pull too, a stored copy
	// is that image (gorae bake hands a target's result to its
	// dependents as NAME@DIGEST before anything is pushed).
	if !r.Pull || strings.Contains(name, "@sha256:") {
		img, digest, err := r.Root.Images.ImageFor(ctx, name, platform)
		switch {
		case err == nil:
			cf, err := ConfigOf(img)
			if err != nil {
				return nil, fmt.Errorf("read image %s from the local store: %w", name, err)
			}
			return &frontend.ResolvedImage{Ref: name, Digest: digest.String(), Config: cf}, nil
		case errors.Is(err, store.ErrNoPlatform):
			local = err
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	if r.Outside {
		return nil, ops.ErrNeedsNamespace
	}
	var single *frontend.ResolvedImage
	if local != nil {
		single, _ = r.storedSingle(ctx, name)
	}
	ri, err := r.pullImage(ctx, name, platform, single)
	if err != nil && local != nil && ctx.Err() == nil {
		if ri := single; ri != nil {
			// Not in the registry (or offline): a single-platform image
			// stored here is used as BuildKit uses one, whatever its
			// platform; the frontend warns (InvalidBaseImagePlatform).
			return ri, nil
		}
		// A name built here for other platforms: what the store has
		// says more than the registry's answer.
		return nil, fmt.Errorf("%w; pulling it failed too: %w", local, err)
	}
	return ri, err
}

// pullImage pulls name for platform into the store. A multi-platform
// image stays one under its name: the index is stored with the chosen
// platform's image (other platforms' stay absent until pulled), so that
// a build or run for another platform adds to it instead of replacing
// the name.
//
// keep, when set, is the single-platform image stored as name for
// another platform: the registry's answer replaces it only when it is a
// multi-platform image with the platform (an image pulled before gorae
// kept indexes); a single image there leaves the local one, perhaps built
// here, in place and used.
func (r *Resolver) pullImage(ctx context.Context, name string, platform v1.Platform, keep *frontend.ResolvedImage) (*frontend.ResolvedImage, error) {
	ref, err := r.Registry.Parse(name)
	if err != nil {
		return nil, err
	}
	r.Progress.Logf("pulling %s", name)
	desc, err := remote.Get(ref, r.Registry.Remote(ctx)...)
	if err != nil {
		return nil, registry.Explain(err, name)
	}
	if desc.MediaType.IsIndex() {
		return r.pullFromIndex(ctx, name, desc, platform)
	}
	if keep != nil {
		return keep, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, registry.Explain(err, name)
	}
	cf, err := ConfigOf(img)
	if err != nil {
		return nil, registry.Explain(err, name)
	}
	// A single-platform image is used whatever its platform, as BuildKit
	// does: the frontend warns when it is not the stage's
	// (InvalidBaseImagePlatform).
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	if err := r.lazy(ctx, img, name); err != nil {
		return nil, err
	}
	if err := r.Root.Images.Export(ctx, pullProgress(img, r.Progress), storeNames(name)); err != nil {
		return nil, registry.Explain(err, name)
	}
	return &frontend.ResolvedImage{Ref: name, Digest: digest.String(), Config: cf}, nil
}

// storeNames are the names a pull of name stores the image under: name,
// or none for a name pinned by digest (the store names images by tag
// only), which the digest then finds, as docker pull NAME@DIGEST keeps
// no tag.
func storeNames(name string) []string {
	if strings.Contains(name, "@") {
		return nil
	}
	return []string{name}
}

// storedSingle is the single-platform image stored as name, if it is one.
func (r *Resolver) storedSingle(ctx context.Context, name string) (*frontend.ResolvedImage, bool) {
	if _, _, err := r.Root.Images.Index(ctx, name); !errors.Is(err, store.ErrNotIndex) {
		return nil, false
	}
	img, digest, err := r.Root.Images.Image(ctx, name)
	if err != nil {
		return nil, false
	}
	cf, err := ConfigOf(img)
	if err != nil {
		return nil, false
	}
	return &frontend.ResolvedImage{Ref: name, Digest: digest.String(), Config: cf}, true
}

// pullFromIndex stores the index desc and its image for platform.
func (r *Resolver) pullFromIndex(ctx context.Context, name string, desc *remote.Descriptor, platform v1.Platform) (*frontend.ResolvedImage, error) {
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, registry.Explain(err, name)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, registry.Explain(err, name)
	}
	c, ok := store.MatchPlatform(im.Manifests, platform)
	if !ok {
		return nil, fmt.Errorf("image %s has no %s image (it has %s): choose another image or --platform", name, FormatPlatform(platform), strings.Join(indexPlatforms(im), ", "))
	}
	img, err := idx.Image(c.Digest)
	if err != nil {
		return nil, registry.Explain(err, name)
	}
	cf, err := ConfigOf(img)
	if err != nil {
		return nil, registry.Explain(err, name)
	}
	if err := r.lazy(ctx, img, name); err != nil {
		return nil, err
	}
	if err := r.Root.Images.ExportPlatform(ctx, idx, pullProgress(img, r.Progress), storeNames(name)); err != nil {
		return nil, registry.Explain(err, name)
	}
	return &frontend.ResolvedImage{Ref: name, Digest: c.Digest.String(), Config: cf}, nil
}

// indexPlatforms lists the platforms of an index's images, leaving out
// attestations (unknown/unknown).
func indexPlatforms(im *v1.IndexManifest) []string {
	var out []string
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.OS != "" && m.Platform.OS != "unknown" {
			out = append(out, FormatPlatform(*m.Platform))
		}
	}
	return out
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

// lazy records img's layers as lazy blobs when r is Lazy; otherwise it
// downloads those not local, lazy ones of an earlier build's pull too.
func (r *Resolver) lazy(ctx context.Context, img v1.Image, name string) error {
	if !r.Lazy {
		if err := r.Root.Images.FetchLayers(ctx, pullProgress(img, r.Progress)); err != nil {
			return registry.Explain(err, name)
		}
		return nil
	}
	ref, err := r.Registry.Parse(name)
	if err != nil {
		return err
	}
	repo := ref.Context()
	return recordLazy(r.Root.Content, img, name, repo.String(), repo.Scheme() == "http")
}

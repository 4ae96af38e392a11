package builder

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/imageconfig"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
)

// imageContexts resolves the --build-context NAME=docker-image://REF and
// NAME=oci-layout://DIR[:TAG|@sha256:DIGEST] contexts, as buildx does:
// FROM NAME and COPY --from=NAME (NAME matched as an image name, so
// "alpine" also matches "docker.io/library/alpine:latest") get that
// image, its config included. Other names go to next.
type imageContexts struct {
	next   frontend.ImageResolver
	root   *root.Root
	byName map[string]imageContext // normalized NAME → context
}

type imageContext struct{ name, spec string }

var _ frontend.ImageResolver = (*imageContexts)(nil)

func newImageContexts(next frontend.ImageResolver, r *root.Root, specs map[string]string) (frontend.ImageResolver, error) {
	if len(specs) == 0 {
		return next, nil
	}
	ic := &imageContexts{next: next, root: r, byName: map[string]imageContext{}}
	for name, spec := range specs {
		n, err := registry.Normalize(name)
		if err != nil {
			return nil, &FlagError{Flag: "--build-context " + name + "=" + spec, Msg: fmt.Sprintf("%q is not a name FROM can use: %v", name, err)}
		}
		if ref, ok := strings.CutPrefix(spec, "docker-image://"); ok {
			if _, err := registry.Normalize(ref); err != nil {
				return nil, &FlagError{Flag: "--build-context " + name + "=" + spec, Msg: err.Error()}
			}
		}
		ic.byName[n] = imageContext{name, spec}
	}
	return ic, nil
}

// Resolve pins ref, or the image of the context that ref names.
func (ic *imageContexts) Resolve(ctx context.Context, ref string, platform v1.Platform) (*frontend.ResolvedImage, error) {
	c, ok := ic.byName[ref]
	if !ok {
		return ic.next.Resolve(ctx, ref, platform)
	}
	var (
		img *frontend.ResolvedImage
		err error
	)
	if src, ok := strings.CutPrefix(c.spec, "docker-image://"); ok {
		img, err = ic.next.Resolve(ctx, src, platform)
	} else {
		img, err = ic.ociLayout(ctx, ref, strings.TrimPrefix(c.spec, "oci-layout://"), platform)
	}
	if err != nil {
		return nil, fmt.Errorf("--build-context %s=%s: %w", c.name, c.spec, err)
	}
	return img, nil
}

// ociLayout stores the image of an OCI image layout directory (by tag,
// "latest" by default, or by digest) and pins it.
func (ic *imageContexts) ociLayout(ctx context.Context, ref, spec string, platform v1.Platform) (*frontend.ResolvedImage, error) {
	img, dir, err := images.OpenLayout(spec, platform)
	if err != nil {
		return nil, err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	cf, err := imageconfig.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: config: %w", dir, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	if err := ic.root.Images.Export(ctx, img, nil); err != nil {
		return nil, fmt.Errorf("store the image of OCI layout %s: %w", dir, err)
	}
	return &frontend.ResolvedImage{Ref: ref, Digest: d.String(), Config: cf}, nil
}

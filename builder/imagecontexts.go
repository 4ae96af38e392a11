package builder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/imageconfig"
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
	dir, tag, digest := spec, "", ""
	if i := strings.LastIndex(spec, "@"); i >= 0 {
		dir, digest = spec[:i], spec[i+1:]
	} else if i := strings.LastIndex(spec, ":"); i > strings.LastIndex(spec, "/") {
		dir, tag = spec[:i], spec[i+1:]
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout: it has no index.json (%v)", dir, errors.Unwrap(err))
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	desc, err := pickManifest(im.Manifests, tag, digest)
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	img, err := layoutImage(idx, desc, platform)
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %w", dir, err)
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

// pickManifest finds the descriptor a layout reference names: a digest,
// a tag (org.opencontainers.image.ref.name), or without either "latest"
// or the layout's only image.
func pickManifest(ms []v1.Descriptor, tag, digest string) (v1.Descriptor, error) {
	if digest != "" {
		for _, m := range ms {
			if m.Digest.String() == digest {
				return m, nil
			}
		}
		return v1.Descriptor{}, fmt.Errorf("index.json has no manifest %s", digest)
	}
	want := tag
	if want == "" {
		want = "latest"
	}
	var tags []string
	for _, m := range ms {
		n := m.Annotations["org.opencontainers.image.ref.name"]
		if n == want || strings.HasSuffix(n, ":"+want) {
			return m, nil
		}
		if n != "" {
			tags = append(tags, n)
		}
	}
	if tag == "" && len(ms) == 1 {
		return ms[0], nil
	}
	return v1.Descriptor{}, fmt.Errorf("index.json has no image tagged %q (tags: %s): name one with :TAG or @sha256:DIGEST", want, strings.Join(tags, ", "))
}

// layoutImage is the image desc names, the platform's manifest when desc
// is an index.
func layoutImage(idx v1.ImageIndex, desc v1.Descriptor, platform v1.Platform) (v1.Image, error) {
	if desc.MediaType.IsImage() {
		return idx.Image(desc.Digest)
	}
	if !desc.MediaType.IsIndex() {
		return nil, fmt.Errorf("%s is a %s, not an image", desc.Digest, desc.MediaType)
	}
	child, err := idx.ImageIndex(desc.Digest)
	if err != nil {
		return nil, err
	}
	im, err := child.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.OS == platform.OS && m.Platform.Architecture == platform.Architecture && m.MediaType.IsImage() {
			return child.Image(m.Digest)
		}
	}
	return nil, fmt.Errorf("index %s has no image for %s/%s", desc.Digest, platform.OS, platform.Architecture)
}

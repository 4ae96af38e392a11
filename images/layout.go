package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/store"
)

// OpenLayout reads the image an OCI layout reference names:
// DIR[:TAG|@DIGEST] (a --build-context oci-layout:// value, a gorae diff
// argument without its scheme), the platform's image when it names an
// index. It returns the layout's directory too, for messages.
func OpenLayout(spec string, platform v1.Platform) (v1.Image, string, error) {
	dir, tag, digest := spec, "", ""
	if i := strings.LastIndex(spec, "@"); i >= 0 {
		dir, digest = spec[:i], spec[i+1:]
	} else if i := strings.LastIndex(spec, ":"); i > strings.LastIndex(spec, "/") {
		dir, tag = spec[:i], spec[i+1:]
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return nil, dir, fmt.Errorf("%s is not an OCI image layout: it has no index.json (%v)", dir, errors.Unwrap(err))
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, dir, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, dir, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	desc, err := pickManifest(im.Manifests, tag, digest)
	if err != nil {
		return nil, dir, fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	img, err := layoutImage(idx, desc, platform)
	if err != nil {
		return nil, dir, fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	return img, dir, nil
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
	if m, ok := store.MatchPlatform(im.Manifests, platform); ok {
		return child.Image(m.Digest)
	}
	return nil, fmt.Errorf("index %s has no image for %s (it has %s)", desc.Digest, FormatPlatform(platform), strings.Join(indexPlatforms(im), ", "))
}

// Open reads an image for gorae diff: oci-layout://DIR[:TAG|@DIGEST], a
// name or digest in the local store, else a registry reference; the
// platform's image of a multi-platform one.
func Open(ctx context.Context, s *store.Store, ref string, platform v1.Platform, reg registry.Options) (v1.Image, error) {
	if spec, ok := strings.CutPrefix(ref, "oci-layout://"); ok {
		img, _, err := OpenLayout(spec, platform)
		return img, err
	}
	img, _, err := s.ImageFor(ctx, ref, platform)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return img, err
	}
	r, perr := reg.Parse(ref)
	if perr != nil {
		return nil, perr
	}
	img, rerr := remote.Image(r, reg.Remote(ctx, remote.WithPlatform(platform))...)
	if rerr != nil {
		return nil, fmt.Errorf("%w; from the registry: %w", err, registry.Explain(rerr, ref))
	}
	return img, nil
}

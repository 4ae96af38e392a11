package exporter

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// onPlatform returns img with os, architecture and variant set in its
// config, as the builder makes each platform's image.
func onPlatform(t *testing.T, img v1.Image, p v1.Platform) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// indexOf builds an index of media type mt as the builder does: one
// entry per image, in order, with the platform of the image's config.
func indexOf(t *testing.T, mt types.MediaType, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, mt), adds...)
}

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
	armv7 = v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
)

// randomIndex is a two-platform index (amd64, arm64) of random images
// that share their first layer, as images FROM one base do.
func randomIndex(t *testing.T, mt types.MediaType) (v1.ImageIndex, []v1.Image) {
	t.Helper()
	shared, err := randomImage(t).Layers()
	if err != nil {
		t.Fatal(err)
	}
	var imgs []v1.Image
	for _, p := range []v1.Platform{amd64, arm64} {
		own, err := randomImage(t).Layers()
		if err != nil {
			t.Fatal(err)
		}
		img := imageOf(t, append([]v1.Layer{shared[0]}, own[:2]...)...)
		if mt == types.OCIImageIndex {
			img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
		}
		imgs = append(imgs, onPlatform(t, img, p))
	}
	return indexOf(t, mt, imgs...), imgs
}

func indexDigest(t *testing.T, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

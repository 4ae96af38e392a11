package builder

import (
	"fmt"
	"maps"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/images"
)

// platformImage is one platform's image of a multi-platform build.
type platformImage struct {
	platform v1.Platform
	image    v1.Image
	// attestation is the image's attestation manifest, nil without
	// attestations.
	attestation v1.Image
}

// makeIndex is the OCI image index (a Docker manifest list with docker
// media types) of a multi-platform build, or of a build with
// attestations: one descriptor per platform, in the order of
// --platform, each with its platform and the manifest-descriptor
// annotations, then the images' attestation manifests in the same order
// (attest.Addendum); index annotations on the index itself.
func makeIndex(imgs []platformImage, docker bool, a indexAnnotations) (v1.ImageIndex, error) {
	mt := types.OCIImageIndex
	if docker {
		mt = types.DockerManifestList
	}
	adds := make([]mutate.IndexAddendum, len(imgs))
	for i, pi := range imgs {
		p := pi.platform
		desc, err := descriptorOf(pi.image)
		if err != nil {
			return nil, err
		}
		desc.Platform = &p
		if d := a.descriptor[images.FormatPlatform(p)]; len(d) > 0 {
			desc.Annotations = maps.Clone(d)
		}
		adds[i] = mutate.IndexAddendum{Add: noArtifactType{pi.image}, Descriptor: desc}
	}
	for _, pi := range imgs {
		if pi.attestation == nil {
			continue
		}
		d, err := pi.image.Digest()
		if err != nil {
			return nil, err
		}
		adds = append(adds, attest.Addendum(pi.attestation, d))
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, mt), adds...)
	if len(a.index) > 0 {
		idx = mutate.Annotations(idx, a.index).(v1.ImageIndex)
	}
	return idx, nil
}

// descriptorOf is img's descriptor: media type, size and digest of its
// manifest.
func descriptorOf(img v1.Image) (v1.Descriptor, error) {
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("manifest digest: %w", err)
	}
	return v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: d}, nil
}

// noArtifactType keeps ggcr from writing the config's media type as the
// descriptor's artifactType: BuildKit and Docker write none for an image
// manifest, and a Docker manifest list has no such field.
type noArtifactType struct{ v1.Image }

func (noArtifactType) ArtifactType() (string, error) { return "", nil }

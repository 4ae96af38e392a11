package images

import (
	"bytes"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/imageconfig"
	"github.com/gorae/gorae/ops"
)

// FromLayers makes an image of cf over layers, blobs already in c: the
// config gets its rootfs from the layers' diffIDs (the rest of cf is
// written as given) and the manifest lists the layers in order, with
// Docker v2s2 media types when docker is set, else OCI ones.
func FromLayers(c *content.Store, cf *imageconfig.File, layers []ops.Layer, docker bool) (v1.Image, error) {
	return FromLayersAnnotated(c, cf, layers, docker, nil)
}

// FromLayersAnnotated is FromLayers with annotations in the manifest
// (--annotation), which BuildKit writes whatever the media types.
func FromLayersAnnotated(c *content.Store, cf *imageconfig.File, layers []ops.Layer, docker bool, annotations map[string]string) (v1.Image, error) {
	withRootFS := *cf
	withRootFS.RootFS = v1.RootFS{Type: "layers"}
	for _, l := range layers {
		withRootFS.RootFS.DiffIDs = append(withRootFS.RootFS.DiffIDs, l.DiffID)
	}
	rawConfig, err := json.Marshal(&withRootFS)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	img := &builtImage{config: rawConfig, layers: map[v1.Hash]v1.Layer{}}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	m.Config = v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(rawConfig))}
	if docker {
		m.MediaType, m.Config.MediaType = types.DockerManifestSchema2, types.DockerConfigJSON
	}
	if m.Config.Digest, _, err = v1.SHA256(bytes.NewReader(rawConfig)); err != nil {
		return nil, err
	}
	for _, l := range layers {
		mt := layerMediaType(l.MediaType, docker)
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Size: l.Size, Digest: l.Digest})
		img.layers[l.Digest] = c.Layer(l.Digest, l.DiffID, l.Size, mt)
	}
	m.Annotations = annotations
	img.mediaType = m.MediaType
	if img.manifest, err = json.Marshal(m); err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return partial.CompressedToImage(img)
}

// layerMediaType converts a layer's media type to the manifest's family
// (the blob is the same; BuildKit does the same conversion).
func layerMediaType(mt types.MediaType, docker bool) types.MediaType {
	switch {
	case docker && mt == types.OCILayer:
		return types.DockerLayer
	case docker && mt == types.OCIUncompressedLayer:
		return types.DockerUncompressedLayer
	case !docker && mt == types.DockerLayer:
		return types.OCILayer
	case !docker && mt == types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer
	}
	return mt
}

// builtImage is a compressed image over the content store.
type builtImage struct {
	manifest  []byte
	config    []byte
	mediaType types.MediaType
	layers    map[v1.Hash]v1.Layer
}

var _ partial.CompressedImageCore = (*builtImage)(nil)

func (b *builtImage) RawConfigFile() ([]byte, error)      { return b.config, nil }
func (b *builtImage) MediaType() (types.MediaType, error) { return b.mediaType, nil }
func (b *builtImage) RawManifest() ([]byte, error)        { return b.manifest, nil }

func (b *builtImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := b.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("layer %s is not part of the image", h)
}

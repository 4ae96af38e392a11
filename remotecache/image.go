package remotecache

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// rawImage is an image from its raw manifest and config and its layers
// (a cache manifest, or an image with inline records), for remote.Write
// and the local store.
type rawImage struct {
	manifest  []byte
	config    []byte
	mediaType types.MediaType
	layers    map[v1.Hash]v1.Layer
}

var _ partial.CompressedImageCore = (*rawImage)(nil)

func (i *rawImage) RawConfigFile() ([]byte, error)      { return i.config, nil }
func (i *rawImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *rawImage) RawManifest() ([]byte, error)        { return i.manifest, nil }

func (i *rawImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := i.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("blob %s is not part of the image", h)
}

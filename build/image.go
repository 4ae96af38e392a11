package build

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/ops"
)

// assembly is what the image is made of once the graph is solved.
type assembly struct {
	config  *v1.ConfigFile
	history []frontend.HistoryStep
	final   *ops.State
	states  map[string]*ops.State // node digest → its state, for history steps
	docker  bool
	epoch   *time.Time
}

// assemble builds the image's config (rootfs and history as BuildKit
// writes them) and manifest, over layers already in the content store.
func assemble(c *content.Store, a assembly) (v1.Image, error) {
	cf := a.config.DeepCopy()
	cf.RootFS = v1.RootFS{Type: "layers"}
	for _, l := range a.final.Layers {
		cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, l.DiffID)
	}
	created := cf.Created.Time
	for _, h := range cf.History {
		if h.Created.After(created) {
			created = h.Created.Time
		}
	}
	for _, step := range a.history {
		h := step.History
		if step.Node != nil {
			s := a.states[step.Node.Digest()]
			if s == nil || !s.Added {
				h.EmptyLayer = true
			} else if s.Created > 0 {
				created = time.Unix(s.Created, 0).UTC()
			}
		}
		h.Created = v1.Time{Time: created}
		cf.History = append(cf.History, h)
	}
	if a.epoch != nil {
		created = a.epoch.UTC()
		for i := len(cf.History) - len(a.history); i < len(cf.History); i++ {
			cf.History[i].Created = v1.Time{Time: created}
		}
	}
	cf.Created = v1.Time{Time: created}
	rawConfig, err := json.Marshal(cf)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	img := &builtImage{config: rawConfig, layers: map[v1.Hash]v1.Layer{}}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	m.Config = v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(rawConfig))}
	if a.docker {
		m.MediaType, m.Config.MediaType = types.DockerManifestSchema2, types.DockerConfigJSON
	}
	if m.Config.Digest, _, err = v1.SHA256(bytes.NewReader(rawConfig)); err != nil {
		return nil, err
	}
	for _, l := range a.final.Layers {
		mt := layerMediaType(l.MediaType, a.docker)
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Size: l.Size, Digest: l.Digest})
		img.layers[l.Digest] = c.Layer(l.Digest, l.DiffID, l.Size, mt)
	}
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

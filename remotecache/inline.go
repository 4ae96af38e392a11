package remotecache

import (
	"bytes"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/gorae/gorae/ops"
)

// WithInline returns img with recs in its config under
// inlineCacheField. The field is appended to the config JSON as is, so
// nothing else in the config changes.
func WithInline(img v1.Image, recs map[string]*ops.State) (v1.Image, error) {
	cfg, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	field, err := json.Marshal(cacheConfig{Version: cacheVersion, Records: recs})
	if err != nil {
		return nil, fmt.Errorf("encode inline cache: %w", err)
	}
	cfg = bytes.TrimRight(cfg, " \n")
	if len(cfg) < 2 || cfg[len(cfg)-1] != '}' {
		return nil, fmt.Errorf("image config is not a JSON object")
	}
	name, _ := json.Marshal(inlineCacheField)
	out := append(append([]byte{}, cfg[:len(cfg)-1]...), ',')
	out = append(append(append(append(out, name...), ':'), field...), '}')
	b := &rawImage{config: out, mediaType: mt, layers: map[v1.Hash]v1.Layer{}}
	m = m.DeepCopy()
	m.Config.Size = int64(len(out))
	if m.Config.Digest, _, err = v1.SHA256(bytes.NewReader(out)); err != nil {
		return nil, err
	}
	for _, d := range m.Layers {
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return nil, err
		}
		b.layers[d.Digest] = l
	}
	if b.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(b)
}

package store

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/content"
)

// load builds the v1.Image for the manifest d names.
func (s *Store) load(d v1.Descriptor) (v1.Image, error) {
	raw, err := readBlob(s.c, d.Digest)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", d.Digest, err)
	}
	mt := d.MediaType
	if mt == "" {
		mt = m.MediaType
	}
	if mt != types.OCIManifestSchema1 && mt != types.DockerManifestSchema2 {
		return nil, fmt.Errorf("manifest %s has media type %q: only OCI and Docker v2 schema 2 image manifests are supported", d.Digest, mt)
	}
	core := &stored{c: s.c, mt: mt, raw: raw, m: m}
	core.config = sync.OnceValues(func() ([]byte, error) {
		b, err := readBlob(s.c, m.Config.Digest)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		return b, nil
	})
	core.configFile = sync.OnceValues(func() (*v1.ConfigFile, error) {
		b, err := core.config()
		if err != nil {
			return nil, err
		}
		return v1.ParseConfigFile(bytes.NewReader(b))
	})
	return partial.CompressedToImage(core)
}

// stored is the compressed image core partial derives a v1.Image from:
// manifest bytes held in memory, config and layers read from content.
type stored struct {
	c          *content.Store
	mt         types.MediaType
	raw        []byte
	m          *v1.Manifest
	config     func() ([]byte, error)
	configFile func() (*v1.ConfigFile, error)
}

var _ partial.CompressedImageCore = (*stored)(nil)

func (s *stored) RawConfigFile() ([]byte, error)      { return s.config() }
func (s *stored) MediaType() (types.MediaType, error) { return s.mt, nil }
func (s *stored) RawManifest() ([]byte, error)        { return s.raw, nil }

func (s *stored) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == s.m.Config.Digest {
		return s.c.Layer(h, h, s.m.Config.Size, s.m.Config.MediaType), nil
	}
	for i, l := range s.m.Layers {
		if l.Digest != h {
			continue
		}
		var diffID v1.Hash
		if cf, err := s.configFile(); err == nil && i < len(cf.RootFS.DiffIDs) {
			diffID = cf.RootFS.DiffIDs[i]
		}
		return s.c.Layer(h, diffID, l.Size, l.MediaType), nil
	}
	return nil, fmt.Errorf("layer %s is not in manifest", h)
}

func readBlob(c *content.Store, d v1.Hash) ([]byte, error) {
	f, err := c.Open(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

package registry

import (
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// MountFrom wraps img so that every layer for which from names a
// repository becomes a remote.MountableLayer of it: remote.Write mounts
// such a layer when it pushes to that repository's registry instead of
// uploading it. Layers already mountable, and layers from gives no
// repository for, are left as they are.
func MountFrom(img v1.Image, from func(v1.Hash) (name.Repository, bool)) v1.Image {
	return mountFrom{Image: img, from: from}
}

type mountFrom struct {
	v1.Image
	from func(v1.Hash) (name.Repository, bool)
}

func (m mountFrom) Layers() ([]v1.Layer, error) {
	ls, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = l
		if _, ok := l.(*remote.MountableLayer); ok {
			continue
		}
		d, err := l.Digest()
		if err != nil {
			continue
		}
		if repo, ok := m.from(d); ok {
			out[i] = &remote.MountableLayer{Layer: l, Reference: repo.Digest(d.String())}
		}
	}
	return out, nil
}

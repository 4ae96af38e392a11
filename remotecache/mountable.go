package remotecache

import (
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/registry"
)

// mountableImage is an image whose layers that came from a registry
// cache are mountable from it (registry.MountFrom); RecordLazy knows it
// by its type.
type mountableImage struct {
	v1.Image
	rc *Cache
}

// Mountable marks the layers of img that came from a registry cache as
// mountable from it, so that a push to the same registry mounts them
// instead of uploading; with no imported cache it returns img.
func (r *Cache) Mountable(img v1.Image) v1.Image {
	if r == nil {
		return img
	}
	return mountableImage{Image: registry.MountFrom(img, r.registryRepo), rc: r}
}

// RecordLazy records the layers of img, if it is Mountable, that are
// not local but come from a --cache-from registry as lazy blobs of image
// (see recordLazy); for any other image it does nothing.
func RecordLazy(c *content.Store, img v1.Image, image string) error {
	if m, ok := img.(mountableImage); ok {
		return m.recordLazy(c, image)
	}
	return nil
}

// registryRepo is the registry repository a --cache-from blob d came
// from; blobs of a local-layout cache have none.
func (r *Cache) registryRepo(d v1.Hash) (name.Repository, bool) {
	src, ok := r.blobs[d]
	if !ok || src.dir != "" {
		return name.Repository{}, false
	}
	return src.repo, true
}

// recordLazy records every layer of the image that is not local but comes
// from a --cache-from registry as a lazy blob of image (content.AddRemote),
// so that storing the image does not download it; whatever reads it later
// fetches it then. Layers from a local-layout cache are copied instead
// (cheap), and so are blobs that proved corrupt in this build.
func (m mountableImage) recordLazy(c *content.Store, image string) error {
	man, err := m.Image.Manifest()
	if err != nil {
		return err
	}
	for _, l := range man.Layers {
		src, ok := m.rc.blobs[l.Digest]
		if !ok || src.dir != "" || c.Has(l.Digest) || m.rc.isBad(l.Digest) {
			continue
		}
		if r, ok := c.Remote(l.Digest); ok && r.Base {
			continue // a base image's layer: its own registry has it
		}
		err := c.AddRemote(l.Digest, content.RemoteSource{
			Ref: src.repo.String(), Size: l.Size, MediaType: l.MediaType,
			Insecure: src.repo.Scheme() == "http", Image: image,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *Cache) isBad(d v1.Hash) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad[d]
}

package images

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/content"
)

// recordLazy records each layer of img, pulled from repository repo of
// the image name, that is not local as a lazy blob (content.AddRemote):
// storing the image then downloads only its manifest and config, and a
// layer is fetched when something reads it (a RUN's unpack, a COPY
// --from, an export). A build whose every step is cached never reads
// its base image's layers, as BuildKit never pulls them then.
func recordLazy(c *content.Store, img v1.Image, name, repo string, insecure bool) error {
	man, err := img.Manifest()
	if err != nil {
		return err
	}
	for _, l := range man.Layers {
		if !l.MediaType.IsDistributable() || c.Has(l.Digest) {
			continue
		}
		err := c.AddRemote(l.Digest, content.RemoteSource{
			Ref: repo, Size: l.Size, MediaType: l.MediaType,
			Insecure: insecure, Image: name, Base: true,
		})
		if err != nil {
			return fmt.Errorf("record layer %s of %s: %w", l.Digest, name, err)
		}
	}
	return nil
}

package kubejob

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/registry"
)

// uploadBlob puts the context blob into repo unless the registry has it:
// remote.WriteLayer asks with a HEAD first and skips the upload then, so
// an unchanged context costs one request per build.
func uploadBlob(ctx context.Context, o registry.Options, repo name.Repository, b *contextBlob) error {
	h, err := v1.NewHash(b.digest)
	if err != nil {
		return err
	}
	l := &fileBlob{path: b.path, digest: h, size: b.size}
	if err := remote.WriteLayer(repo, l, o.Remote(ctx)...); err != nil {
		return fmt.Errorf("upload the build context to %s: %w", repo, registry.Explain(err, repo.String()))
	}
	return nil
}

// blobURL is the URL a Job's gorae fetches blob digest of repo from, as
// builder's registry blob contexts read it.
func blobURL(repo name.Repository, digest string) string {
	return fmt.Sprintf("%s://%s/v2/%s/blobs/%s", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), digest)
}

// fileBlob is a spooled blob as the v1.Layer remote.WriteLayer uploads:
// only its digest, size and bytes are ever read.
type fileBlob struct {
	path   string
	digest v1.Hash
	size   int64
}

func (f *fileBlob) Digest() (v1.Hash, error) { return f.digest, nil }
func (f *fileBlob) DiffID() (v1.Hash, error) { return f.digest, nil }
func (f *fileBlob) Size() (int64, error)     { return f.size, nil }
func (f *fileBlob) MediaType() (types.MediaType, error) {
	return "application/vnd.gorae.context.tar+gzip", nil
}
func (f *fileBlob) Compressed() (io.ReadCloser, error) { return os.Open(f.path) }
func (f *fileBlob) Uncompressed() (io.ReadCloser, error) {
	return nil, fmt.Errorf("the context blob is read only as it is stored")
}

package builder

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"regexp"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/registry"
)

// blobPath is the path of a registry blob URL:
// /v2/REPOSITORY/blobs/sha256:HEX.
var blobPath = regexp.MustCompile(`^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$`)

// registryBlob reports whether the context URL src names a blob in a
// registry, http(s)://HOST/v2/REPO/blobs/sha256:HEX, as `gorae bake
// --kubernetes` gives a Job its context, and returns its digest
// reference. Such a context is fetched through the registry transport
// (credentials from the keychain, token auth, certs.d, the plain-HTTP
// rules of --insecure-registry) and its bytes are checked against the
// digest, instead of a plain GET that a registry would answer 401.
func registryBlob(src string, o registry.Options) (name.Digest, bool) {
	u, err := url.Parse(src)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return name.Digest{}, false
	}
	m := blobPath.FindStringSubmatch(u.Path)
	if m == nil {
		return name.Digest{}, false
	}
	ref, err := o.Parse(u.Host + "/" + m[1] + "@" + m[2])
	if err != nil {
		return name.Digest{}, false
	}
	d, ok := ref.(name.Digest)
	return d, ok
}

// openRegistryBlob opens blob d for reading; the reader fails at its end
// when the bytes do not have d's digest.
func openRegistryBlob(ctx context.Context, o registry.Options, d name.Digest) (io.ReadCloser, error) {
	l, err := remote.Layer(d, o.Remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("download: %w", registry.Explain(err, d.String()))
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("download: %w", registry.Explain(err, d.String()))
	}
	return rc, nil
}

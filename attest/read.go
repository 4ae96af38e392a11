package attest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// referenceDigests are the annotations that name the manifest an
// attestation manifest is about, newest first, as buildx reads them.
var referenceDigests = []string{"com.docker.reference.digest", AnnotationReferenceDigest}

// Attached maps each image manifest of an index to the attestation
// manifests that refer to it, in index order: the descriptors with a
// reference digest annotation, as buildx finds them.
func Attached(im *v1.IndexManifest) map[v1.Hash][]v1.Descriptor {
	out := map[v1.Hash][]v1.Descriptor{}
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		for _, a := range referenceDigests {
			ref, ok := d.Annotations[a]
			if !ok {
				continue
			}
			if h, err := v1.NewHash(ref); err == nil {
				out[h] = append(out[h], d)
			}
			break
		}
	}
	return out
}

// References says whether an index descriptor refers to another manifest
// (an attestation manifest), rather than being an image of its own.
func References(d v1.Descriptor) bool {
	for _, a := range referenceDigests {
		if _, ok := d.Annotations[a]; ok {
			return true
		}
	}
	return false
}

// dsseMediaType matches the media types of statements in a DSSE envelope.
var dsseMediaType = regexp.MustCompile(`^application/vnd\.in-toto\..*\+dsse$`)

// Read returns the statements in the attestation manifest img whose
// predicate type match accepts, in layer order, as buildx reads them:
// layers of media type MediaType or a DSSE envelope of one, chosen by
// their predicate-type annotation (so that nothing else is fetched).
func Read(img v1.Image, match func(predicateType string) bool) ([]Statement, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("read attestation manifest: %w", err)
	}
	var out []Statement
	for _, l := range m.Layers {
		mt := string(l.MediaType)
		if mt != MediaType && !dsseMediaType.MatchString(mt) || !match(l.Annotations[AnnotationPredicateType]) {
			continue
		}
		b, err := readLayer(img, l.Digest)
		if err != nil {
			return nil, fmt.Errorf("read attestation %s: %w", l.Digest, err)
		}
		if mt != MediaType {
			if b, err = decodeDSSE(b); err != nil {
				return nil, fmt.Errorf("read attestation %s: %w", l.Digest, err)
			}
		}
		var s Statement
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("read attestation %s: %w", l.Digest, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func readLayer(img v1.Image, d v1.Hash) ([]byte, error) {
	l, err := img.LayerByDigest(d)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, maxStatement))
}

// maxStatement bounds a statement read back, as BuildKit bounds the
// attestations it writes (80 MiB).
const maxStatement = 80 << 20

func decodeDSSE(b []byte) ([]byte, error) {
	var env struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(env.Payload)
}

package attest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Attestation manifests as BuildKit (v0.31 and later, with OCI media
// types) writes them.
const (
	// ArtifactType is an attestation manifest's artifactType.
	ArtifactType = "application/vnd.docker.attestation.manifest.v1+json"
	// AnnotationPredicateType on a layer is its statement's predicateType.
	AnnotationPredicateType = "in-toto.io/predicate-type"
	// AnnotationReferenceType and AnnotationReferenceDigest on an index
	// descriptor mark an attestation manifest and name the manifest it
	// is about.
	AnnotationReferenceType   = "vnd.docker.reference.type"
	AnnotationReferenceDigest = "vnd.docker.reference.digest"
	// ReferenceType is AnnotationReferenceType's value.
	ReferenceType = "attestation-manifest"
)

// Platform is the platform of an attestation manifest in an index, so
// that no runtime picks it as an image to run.
var Platform = v1.Platform{OS: "unknown", Architecture: "unknown"}

// emptyConfig is the OCI empty descriptor's content, "{}".
var emptyConfig = []byte("{}")

// Descriptor is an OCI descriptor with the fields in the order of the
// image-spec's Go type, which BuildKit writes.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Data         []byte            `json:"data,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
}

// manifest is an OCI image manifest with the image-spec's field order.
type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	ArtifactType  string       `json:"artifactType,omitempty"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
	Subject       *Descriptor  `json:"subject,omitempty"`
}

// NewManifest is the attestation manifest of the image manifest subject:
// each statement a layer (media type MediaType, annotated with its
// predicate type), the OCI empty config, artifactType ArtifactType and
// subject, so that the OCI 1.1 referrers API finds it. The bytes are as
// BuildKit's: indented JSON, statements compact.
func NewManifest(subject v1.Descriptor, stmts []Statement) (v1.Image, error) {
	if len(stmts) == 0 {
		return nil, fmt.Errorf("attestation manifest: no statements")
	}
	blobs := map[v1.Hash][]byte{}
	cfg, err := put(blobs, emptyConfig)
	if err != nil {
		return nil, err
	}
	m := manifest{
		SchemaVersion: 2,
		MediaType:     string(types.OCIManifestSchema1),
		ArtifactType:  ArtifactType,
		Config:        Descriptor{MediaType: string(types.OCIEmptyJSON), Digest: cfg.String(), Size: int64(len(emptyConfig)), Data: emptyConfig},
		Subject:       &Descriptor{MediaType: string(subject.MediaType), Digest: subject.Digest.String(), Size: subject.Size},
	}
	for _, s := range stmts {
		b, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("encode %s statement: %w", s.PredicateType, err)
		}
		d, err := put(blobs, b)
		if err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, Descriptor{MediaType: MediaType, Digest: d.String(), Size: int64(len(b)),
			Annotations: map[string]string{AnnotationPredicateType: s.PredicateType}})
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	core := &image{raw: raw, blobs: blobs}
	img, err := partial.CompressedToImage(core)
	if err != nil {
		return nil, err
	}
	return noArtifactType{img}, nil
}

func put(blobs map[v1.Hash][]byte, b []byte) (v1.Hash, error) {
	d, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return v1.Hash{}, err
	}
	blobs[d] = b
	return d, nil
}

// Addendum adds the attestation manifest img about the image manifest
// subject to an index, as BuildKit's descriptor of it: platform
// unknown/unknown and the vnd.docker.reference annotations, no
// artifactType. BuildKit puts these after every image of the index.
func Addendum(img v1.Image, subject v1.Hash) mutate.IndexAddendum {
	p := Platform
	return mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
		Platform: &p,
		Annotations: map[string]string{
			AnnotationReferenceType:   ReferenceType,
			AnnotationReferenceDigest: subject.String(),
		},
	}}
}

// IsAttestation says whether an index descriptor is an attestation
// manifest.
func IsAttestation(d v1.Descriptor) bool {
	return d.Annotations[AnnotationReferenceType] == ReferenceType
}

// image is an attestation manifest over blobs held in memory.
type image struct {
	raw   []byte
	blobs map[v1.Hash][]byte
}

var _ partial.CompressedImageCore = (*image)(nil)

func (m *image) RawConfigFile() ([]byte, error)      { return emptyConfig, nil }
func (m *image) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (m *image) RawManifest() ([]byte, error)        { return m.raw, nil }

func (m *image) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	b, ok := m.blobs[h]
	if !ok {
		return nil, fmt.Errorf("blob %s is not in the attestation manifest", h)
	}
	mt := types.MediaType(MediaType)
	if bytes.Equal(b, emptyConfig) {
		mt = types.OCIEmptyJSON
	}
	return blob{d: h, b: b, mt: mt}, nil
}

// blob is one statement (or the config) as a compressed layer: stored
// as it is.
type blob struct {
	d  v1.Hash
	b  []byte
	mt types.MediaType
}

func (b blob) Digest() (v1.Hash, error)             { return b.d, nil }
func (b blob) Size() (int64, error)                 { return int64(len(b.b)), nil }
func (b blob) MediaType() (types.MediaType, error)  { return b.mt, nil }
func (b blob) Compressed() (io.ReadCloser, error)   { return io.NopCloser(bytes.NewReader(b.b)), nil }
func (b blob) Uncompressed() (io.ReadCloser, error) { return b.Compressed() }

// noArtifactType keeps ggcr from writing the manifest's artifactType on
// its index descriptor: BuildKit's descriptor has none.
type noArtifactType struct{ v1.Image }

func (noArtifactType) ArtifactType() (string, error) { return "", nil }

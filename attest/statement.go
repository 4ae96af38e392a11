package attest

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Types and media types of in-toto attestations, as BuildKit writes them.
const (
	// StatementType is the _type of an in-toto Statement v1.
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateSLSA1 is the predicate type of SLSA provenance v1.
	PredicateSLSA1 = "https://slsa.dev/provenance/v1"
	// PredicateSLSAPrefix starts every SLSA provenance predicate type
	// (buildx's .Provenance shows any of them).
	PredicateSLSAPrefix = "https://slsa.dev/provenance/"
	// PredicateSPDX is the predicate type of an SPDX document (an SBOM).
	PredicateSPDX = "https://spdx.dev/Document"
	// MediaType is the media type of a statement blob: a manifest layer.
	MediaType = "application/vnd.in-toto+json"
)

// Subject is one artifact a statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Statement is an in-toto Statement v1: its predicate, of type
// PredicateType, is about every Subject. The fields and their order are
// those of BuildKit's statements.
type Statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []Subject       `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

// NewStatement is a statement of type predicateType about subjects, its
// predicate the JSON of predicate (already-encoded JSON, a
// json.RawMessage, is taken as it is).
func NewStatement(predicateType string, subjects []Subject, predicate any) (Statement, error) {
	raw, ok := predicate.(json.RawMessage)
	if !ok {
		b, err := json.Marshal(predicate)
		if err != nil {
			return Statement{}, fmt.Errorf("encode %s predicate: %w", predicateType, err)
		}
		raw = b
	}
	if !json.Valid(raw) {
		return Statement{}, fmt.Errorf("encode %s predicate: not valid JSON", predicateType)
	}
	if subjects == nil {
		subjects = []Subject{}
	}
	return Statement{Type: StatementType, PredicateType: predicateType, Subject: subjects, Predicate: raw}, nil
}

// ImageSubjects are the subjects of a statement about the image manifest
// digest for platform, as BuildKit names them: one package URL per image
// name (pkg:docker/NAME@TAG?platform=…), or "_" for an image without a
// name. BuildKit leaves the list empty then; an in-toto statement must
// have a subject, and "_" is the name BuildKit gives a subject it has no
// name for.
func ImageSubjects(names []string, platform v1.Platform, digest v1.Hash) []Subject {
	d := map[string]string{digest.Algorithm: digest.Hex}
	var out []Subject
	for _, n := range names {
		if u, err := ImagePURL(n, &platform); err == nil {
			out = append(out, Subject{Name: u, Digest: d})
		}
	}
	if len(out) == 0 {
		out = append(out, Subject{Name: "_", Digest: d})
	}
	return out
}

package main

import (
	"encoding/json"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/imageconfig"
)

// provenanceStub and sbomStub are buildx's .Provenance and .SBOM of one
// platform: the predicates, decoded (so keys come out sorted, as buildx
// prints them).
type provenanceStub struct {
	SLSA any `json:",omitempty"`
}

type sbomStub struct {
	SPDX            any   `json:",omitempty"`
	AdditionalSPDXs []any `json:",omitempty"`
}

func (a *asset) provenance() (*provenanceStub, error) {
	for _, att := range a.atts {
		st, err := attest.Read(att, func(t string) bool { return strings.HasPrefix(t, attest.PredicateSLSAPrefix) })
		if err != nil {
			return nil, err
		}
		if len(st) > 0 {
			var p any
			if err := json.Unmarshal(st[0].Predicate, &p); err != nil {
				return nil, err
			}
			return &provenanceStub{SLSA: p}, nil
		}
	}
	return nil, nil
}

func (a *asset) sbom() (*sbomStub, error) {
	var out *sbomStub
	for _, att := range a.atts {
		st, err := attest.Read(att, func(t string) bool { return t == attest.PredicateSPDX })
		if err != nil {
			return nil, err
		}
		for _, s := range st {
			var p any
			if err := json.Unmarshal(s.Predicate, &p); err != nil {
				return nil, err
			}
			if out == nil {
				out = &sbomStub{SPDX: p}
			} else {
				out.AdditionalSPDXs = append(out.AdditionalSPDXs, p)
			}
		}
	}
	return out, nil
}

// inputs is the template's data: tplInput for one platform, tplInputs
// (maps by platform) for several, as buildx's.
func (t *target) inputs(name string) (any, error) {
	as, err := t.assets()
	if err != nil {
		return nil, err
	}
	m := t.manifest()
	if len(as) > 1 {
		in := tplInputs{Name: name, Manifest: m, Image: map[string]*imageconfig.File{}, assets: as}
		for p, a := range as {
			in.Image[p] = a.config
		}
		return in, nil
	}
	in := tplInput{Name: name, Manifest: m}
	for _, a := range as {
		in.Image, in.asset = a.config, a
	}
	return in, nil
}

// manifest is buildx's .Manifest: an image's descriptor, or an index
// with its digest and size.
func (t *target) manifest() any {
	d := ociDescriptorOf(t.desc)
	if t.im == nil {
		return d
	}
	ms := make([]ociDescriptor, len(t.im.Manifests))
	for i, c := range t.im.Manifests {
		ms[i] = ociDescriptorOf(c)
	}
	return struct {
		SchemaVersion int64             `json:"schemaVersion"`
		MediaType     string            `json:"mediaType,omitempty"`
		Digest        string            `json:"digest"`
		Size          int64             `json:"size"`
		Manifests     []ociDescriptor   `json:"manifests"`
		Annotations   map[string]string `json:"annotations,omitempty"`
	}{t.im.SchemaVersion, string(t.im.MediaType), d.Digest, d.Size, ms, t.im.Annotations}
}

// ociDescriptor is a descriptor with the image-spec's field order, as
// buildx prints one.
type ociDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Data         []byte            `json:"data,omitempty"`
	Platform     *v1.Platform      `json:"platform,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
}

func ociDescriptorOf(d v1.Descriptor) ociDescriptor {
	return ociDescriptor{MediaType: string(d.MediaType), Digest: d.Digest.String(), Size: d.Size, URLs: d.URLs,
		Annotations: d.Annotations, Data: d.Data, Platform: d.Platform, ArtifactType: d.ArtifactType}
}

// tplInput is the data of a single-platform image.
type tplInput struct {
	Name     string            `json:"name,omitempty"`
	Manifest any               `json:"manifest,omitempty"`
	Image    *imageconfig.File `json:"image,omitempty"`

	asset *asset
}

// Provenance is the image's provenance, {} without one.
func (in tplInput) Provenance() (provenanceStub, error) {
	if in.asset == nil {
		return provenanceStub{}, nil
	}
	p, err := in.asset.provenance()
	if err != nil || p == nil {
		return provenanceStub{}, err
	}
	return *p, nil
}

// SBOM is the image's SBOM, {} without one.
func (in tplInput) SBOM() (sbomStub, error) {
	if in.asset == nil {
		return sbomStub{}, nil
	}
	s, err := in.asset.sbom()
	if err != nil || s == nil {
		return sbomStub{}, err
	}
	return *s, nil
}

// tplInputs is the data of a multi-platform image.
type tplInputs struct {
	Name     string                       `json:"name,omitempty"`
	Manifest any                          `json:"manifest,omitempty"`
	Image    map[string]*imageconfig.File `json:"image,omitempty"`

	assets map[string]*asset
}

// Provenance is every platform's provenance, by platform; a platform
// without one is left out.
func (in tplInputs) Provenance() (map[string]provenanceStub, error) {
	out := map[string]provenanceStub{}
	for p, a := range in.assets {
		s, err := a.provenance()
		if err != nil {
			return nil, err
		}
		if s != nil {
			out[p] = *s
		}
	}
	return out, nil
}

// SBOM is every platform's SBOM, by platform.
func (in tplInputs) SBOM() (map[string]sbomStub, error) {
	out := map[string]sbomStub{}
	for p, a := range in.assets {
		s, err := a.sbom()
		if err != nil {
			return nil, err
		}
		if s != nil {
			out[p] = *s
		}
	}
	return out, nil
}

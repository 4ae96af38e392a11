package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/imageconfig"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/store"
)

// inspectFormat prints ref through the Go template format with the data
// `docker buildx imagetools inspect --format` gives it: .Name, .Manifest
// (the image's descriptor, or the index with its digest and size),
// .Image (the config), .Provenance ({"SLSA": predicate}) and .SBOM
// ({"SPDX": document, "AdditionalSPDXs": […]}); for a multi-platform
// image the last three are maps by platform ("linux/amd64"). ref is read
// from the local store, else from its registry. The template has
// buildx's json function.
func inspectFormat(ctx context.Context, s *store.Store, reg registry.Options, ref, format string, w io.Writer) error {
	tpl, err := template.New("format").Funcs(template.FuncMap{
		"json": func(v any) string {
			b, _ := json.MarshalIndent(v, "", "  ")
			return string(b)
		},
	}).Parse(format)
	if err != nil {
		return usagef("invalid --format: %v", err)
	}
	t, err := loadTarget(ctx, s, reg, ref)
	if err != nil {
		return err
	}
	data, err := t.inputs(ref)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := tpl.Execute(&out, data); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
		out.WriteByte('\n')
	}
	_, err = w.Write(out.Bytes())
	return err
}

// target is an image or an index, local or in a registry.
type target struct {
	desc v1.Descriptor
	img  v1.Image
	idx  v1.ImageIndex
	im   *v1.IndexManifest
}

// loadTarget finds ref in the local store, else asks its registry.
func loadTarget(ctx context.Context, s *store.Store, reg registry.Options, ref string) (*target, error) {
	idx, _, err := s.Index(ctx, ref)
	if err == nil {
		return indexTarget(idx)
	}
	if errors.Is(err, store.ErrNotIndex) {
		img, _, err := s.Image(ctx, ref)
		if err != nil {
			return nil, err
		}
		return imageTarget(img)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if img, _, ierr := s.Image(ctx, ref); ierr == nil { // the digest of an index's image
		return imageTarget(img)
	}
	r, perr := reg.Parse(ref)
	if perr != nil {
		return nil, perr
	}
	d, rerr := remote.Get(r, reg.Remote(ctx)...)
	if rerr != nil {
		return nil, fmt.Errorf("%w; its registry: %w", err, registry.Explain(rerr, ref))
	}
	if d.MediaType.IsIndex() {
		idx, err := d.ImageIndex()
		if err != nil {
			return nil, err
		}
		return indexTarget(idx)
	}
	img, err := d.Image()
	if err != nil {
		return nil, err
	}
	return imageTarget(img)
}

func indexTarget(idx v1.ImageIndex) (*target, error) {
	d, err := describe(idx)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	return &target{desc: d, idx: idx, im: im}, nil
}

func imageTarget(img v1.Image) (*target, error) {
	d, err := describe(img)
	if err != nil {
		return nil, err
	}
	return &target{desc: d, img: img}, nil
}

// describe is the descriptor of a manifest or index.
func describe(m interface {
	MediaType() (types.MediaType, error)
	RawManifest() ([]byte, error)
	Digest() (v1.Hash, error)
}) (v1.Descriptor, error) {
	mt, err := m.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	raw, err := m.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := m.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(raw))}, nil
}

// asset is one platform's image of a target and the attestation
// manifests about it.
type asset struct {
	config *imageconfig.File
	atts   []v1.Image
}

// assets are the target's images by platform, as buildx's loader finds
// them: every image manifest of an index that refers to no other (an
// attestation does), its platform from its descriptor or else its
// config; a child the local store lacks (a partial pull) is left out.
func (t *target) assets() (map[string]*asset, error) {
	out := map[string]*asset{}
	if t.idx == nil {
		a, p, err := imageAsset(t.img, nil)
		if err != nil {
			return nil, err
		}
		out[p] = a
		return out, nil
	}
	attached := attest.Attached(t.im)
	for _, d := range t.im.Manifests {
		if !d.MediaType.IsImage() || attest.References(d) {
			continue
		}
		img, err := t.idx.Image(d.Digest)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		a, p, err := imageAsset(img, d.Platform)
		if err != nil {
			return nil, err
		}
		for _, ad := range attached[d.Digest] {
			att, err := t.idx.Image(ad.Digest)
			if err != nil {
				return nil, fmt.Errorf("attestation manifest %s: %w", ad.Digest, err)
			}
			a.atts = append(a.atts, att)
		}
		out[p] = a
	}
	return out, nil
}

// imageAsset reads img's config; its platform is p, else the config's.
func imageAsset(img v1.Image, p *v1.Platform) (*asset, string, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, "", err
	}
	cf := &imageconfig.File{}
	if err := json.Unmarshal(raw, cf); err != nil {
		return nil, "", fmt.Errorf("parse image config: %w", err)
	}
	if p == nil {
		p = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	}
	return &asset{config: cf}, attest.FormatPlatform(*p), nil
}

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

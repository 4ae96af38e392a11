package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

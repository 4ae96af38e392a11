package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/store"
)

func runInspect(ctx context.Context, args []string) error {
	fs := newFlags("inspect", "[OPTIONS] NAME")
	platform := fs.String("platform", "", "of a multi-platform image, inspect only the image for this platform os/arch[/variant]")
	format := fs.String("format", "", "print through a Go template with the data of docker buildx imagetools inspect: .Name, .Manifest, .Image, .Provenance, .SBOM (a local image, else the registry's); json is a function, e.g. '{{json .Provenance}}'")
	insecure := fs.StringArray("insecure-registry", nil, "with --format, talk plain HTTP to this registry host[:port]")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("inspect needs one image name")
	}
	if err := checkNames(fs.Arg(0)); err != nil {
		return err
	}
	if *format != "" {
		if *platform != "" {
			return usagef("--format takes no --platform: .Image, .Provenance and .SBOM of a multi-platform image are maps by platform")
		}
		return withRoot(func(root *root.Root) error {
			return inspectFormat(ctx, root.Images, registry.Options{Insecure: *insecure}, fs.Arg(0), *format, os.Stdout)
		})
	}
	var p *v1.Platform
	if *platform != "" {
		pl, err := images.ParsePlatform(*platform)
		if err != nil {
			return usageError{err}
		}
		p = &pl
	}
	return withRoot(func(root *root.Root) error {
		out, err := inspect(ctx, root.Images, fs.Arg(0), p)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	})
}

// inspect is what `gorae inspect` prints of ref: an image's manifest and
// config; a multi-platform image's index and each stored image's
// manifest and config, or with p only the image for p.
func inspect(ctx context.Context, s *store.Store, ref string, p *v1.Platform) (any, error) {
	if p != nil {
		img, d, err := s.ImageFor(ctx, ref, *p)
		if err != nil {
			return nil, err
		}
		return inspectImage(ref, img, d)
	}
	idx, d, err := s.Index(ctx, ref)
	if errors.Is(err, store.ErrNotIndex) || errors.Is(err, store.ErrNotFound) {
		// A single image, or the digest of an index's image.
		img, d, err := s.Image(ctx, ref)
		if err != nil {
			return nil, err
		}
		return inspectImage(ref, img, d)
	}
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	out := indexInspect{Name: ref, Digest: d.String(), Index: m, Images: []imageInspect{}}
	for _, c := range m.Manifests {
		if c.MediaType.IsIndex() || c.Platform == nil || c.Platform.OS == "unknown" {
			continue // nested indexes, attestations
		}
		label := images.FormatPlatform(*c.Platform)
		img, err := idx.Image(c.Digest)
		if errors.Is(err, store.ErrNotFound) {
			out.Absent = append(out.Absent, label)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %s image: %w", ref, label, err)
		}
		ii, err := inspectImage("", img, c.Digest)
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %s image: %w", ref, label, err)
		}
		ii.Platform = label
		out.Images = append(out.Images, *ii)
	}
	return out, nil
}

// imageInspect is one image: the config as stored, so that nothing
// ggcr's v1.ConfigFile has no field for (Healthcheck.StartInterval) is
// left out.
type imageInspect struct {
	Name     string `json:",omitempty"`
	Platform string `json:",omitempty"` // of an index's image
	Digest   string
	Manifest *v1.Manifest
	Config   json.RawMessage
}

// indexInspect is a multi-platform image. Absent are the platforms a
// pull did not store (gorae pull --platform adds them).
type indexInspect struct {
	Name   string
	Digest string
	Index  *v1.IndexManifest
	Images []imageInspect
	Absent []string `json:",omitempty"`
}

func inspectImage(name string, img v1.Image, d v1.Hash) (*imageInspect, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	cf, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	if !json.Valid(cf) {
		return nil, fmt.Errorf("inspect %s: its config is not valid JSON", name)
	}
	return &imageInspect{Name: name, Digest: d.String(), Manifest: m, Config: cf}, nil
}

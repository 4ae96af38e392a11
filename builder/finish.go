package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/exporter"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/remotecache"
	"github.com/gorae/gorae/root"
)

// targets are where a build's image goes, checked before the build starts
// so that a bad name or --output fails fast and leaves nothing behind.
type targets struct {
	names []string
	sinks []exporter.Exporter
	push  bool // an --output type=registry (or push=true) asks for --push
}

func parseTargets(o Options, platforms int) (*targets, error) {
	var names []string
	for _, t := range o.Tags {
		n, err := registry.Normalize(t)
		if err != nil {
			return nil, fmt.Errorf("invalid tag -t %s: %w", t, err)
		}
		names = append(names, n)
	}
	var sinks []exporter.Exporter
	push := false
	for _, spec := range o.Outputs {
		e, err := exporter.Parse(spec)
		if err != nil {
			return nil, err
		}
		if err := checkDest(spec, e); err != nil {
			return nil, err
		}
		if err := exporter.CheckPlatforms(e, platforms); err != nil {
			return nil, fmt.Errorf("invalid --output %q: %w", spec, err)
		}
		switch x := e.(type) {
		case nil:
		case exporter.Image:
			// The build always stores the image, under the -t names and
			// else the output's name=; type=image only adds a push. As
			// in buildx, -t names replace name=.
			if len(o.Tags) > 0 {
				x.Names = nil
			}
			for _, n := range x.Names {
				full, err := registry.Normalize(n)
				if err != nil {
					return nil, fmt.Errorf("invalid --output %q: name %s: %w", spec, n, err)
				}
				if !slices.Contains(names, full) {
					names = append(names, full)
				}
			}
			x.Names = nil // in names now, which every sink gets
			if x.Push {
				if len(names) == 0 {
					return nil, fmt.Errorf("invalid --output %q: a push needs a name: add name=REGISTRY/REPO:TAG or -t", spec)
				}
				// Pushed as --push pushes, with its progress lines.
				push = true
			}
		case exporter.Local:
			if o.Progress != nil {
				x.Warn = o.Progress.Warnf
			}
			sinks = append(sinks, x)
		default:
			sinks = append(sinks, e)
		}
	}
	if o.Push && len(names) == 0 {
		return nil, fmt.Errorf("--push needs at least one name: add -t REGISTRY/REPO:TAG")
	}
	return &targets{names: names, sinks: sinks, push: push}, nil
}

// finish hands the built image to its sinks: the local store always (by
// name when -t is given), the registry with --push, and each --output.
func finish(ctx context.Context, root *root.Root, img v1.Image, t *targets, o Options) (*Result, error) {
	names, sinks := t.names, t.sinks
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	cfgDigest, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	label := digest.String()
	if len(o.Tags) > 0 {
		label = o.Tags[0] // as the user spelled it, for error messages
	}
	if err := remotecache.RecordLazy(root.Content, img, label); err != nil {
		return nil, ops.CheckSpace(fmt.Errorf("store image: %w", err), root.Dir)
	}
	if err := root.Images.Export(ctx, img, names); err != nil {
		return nil, ops.CheckSpace(fmt.Errorf("store image: %w", err), root.Dir)
	}
	o.Progress.Logf("exporting manifest %s done", digest)
	o.Progress.Logf("exporting config %s done", cfgDigest)
	for _, n := range names {
		o.Progress.Logf("naming to %s done", n)
	}
	if o.Push || t.push {
		o.Progress.Logf("pushing %s", strings.Join(names, ", "))
		if err := images.PushImage(ctx, root.Content, img, names, o.Registry, o.Progress); err != nil {
			return nil, ops.CheckSpace(err, root.Dir)
		}
	}
	for _, s := range sinks {
		if err := s.Export(ctx, img, names); err != nil {
			return nil, ops.CheckSpace(err, root.Dir, destOf(s))
		}
	}
	res := &Result{Image: img, Digest: digest, ConfigDigest: cfgDigest, Names: names, Executed: o.executed}
	return res, writeResultFiles(o, res)
}

// manifest is a result's top manifest: a v1.Image, or the v1.ImageIndex
// of a multi-platform build.
type manifest interface {
	MediaType() (types.MediaType, error)
	RawManifest() ([]byte, error)
}

// writeResultFiles writes --iidfile and --metadata-file for r.
func writeResultFiles(o Options, r *Result) error {
	if o.IIDFile != "" {
		if err := writeResultFile(o.IIDFile, []byte(r.Digest.String())); err != nil {
			return fmt.Errorf("write --iidfile: %w", err)
		}
	}
	if o.Metadata != "" {
		if err := writeMetadata(o.Metadata, r); err != nil {
			return fmt.Errorf("write --metadata-file: %w", err)
		}
	}
	return nil
}

// writeMetadata writes r's metadata (Result.Metadata) to path.
func writeMetadata(path string, r *Result) error {
	md, err := r.Metadata()
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	return writeResultFile(path, append(b, '\n'))
}

// Metadata is what --metadata-file holds for r: the keys buildx writes
// for an image build and how many steps executed (gorae bake writes one
// per target).
func (r *Result) Metadata() (map[string]any, error) {
	if r.Index != nil {
		return metadata(r.Index, r)
	}
	return metadata(r.Image, r)
}

// metadata is the keys buildx writes for an image build; for a
// multi-platform build the digest is the index's and there is no config
// digest.
func metadata(m manifest, r *Result) (map[string]any, error) {
	mt, err := m.MediaType()
	if err != nil {
		return nil, err
	}
	raw, err := m.RawManifest()
	if err != nil {
		return nil, err
	}
	md := map[string]any{
		"containerimage.digest": r.Digest.String(),
		"containerimage.descriptor": map[string]any{
			"mediaType": string(mt), "digest": r.Digest.String(), "size": len(raw),
		},
	}
	if r.Index == nil {
		md["containerimage.config.digest"] = r.ConfigDigest.String()
	}
	if len(r.Names) > 0 {
		md["image.name"] = strings.Join(r.Names, ",")
	}
	md[MetadataExecuted] = r.Executed
	return md, nil
}

// checkDest makes sure an output's destination directory exists before
// the build starts, so a typo fails fast instead of after the work.
func checkDest(spec string, e exporter.Exporter) error {
	dest := destOf(e)
	if dest == "" {
		return nil
	}
	parent := filepath.Dir(dest)
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return fmt.Errorf("invalid --output %q: directory %s does not exist; create it or choose another dest", spec, parent)
	}
	return nil
}

// destOf is the file or directory an output writes ("" for none or
// stdout).
func destOf(e exporter.Exporter) string {
	var dest string
	switch x := e.(type) {
	case exporter.OCI:
		dest = x.Dest
	case exporter.Docker:
		dest = x.Dest
	case exporter.Local:
		dest = x.Dest
	case exporter.Tar:
		dest = x.Dest
	}
	if dest == exporter.Stdout {
		return ""
	}
	return dest
}

package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/exporter"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/remotecache"
	"github.com/gorae/gorae/root"
)

// finishIndex is finish for a multi-platform build, or a build with
// attestations: the index goes to the local store, the registry (each
// platform's manifest first, then the attestation manifests, the index
// last) and every --output; --iidfile and --metadata-file name the index.
// The one image of a single-platform build with attestations is what a
// filesystem or docker --output gets, as without attestations.
func finishIndex(ctx context.Context, root *root.Root, idx v1.ImageIndex, imgs []platformImage, t *targets, o Options) (*Result, error) {
	names, sinks := t.names, t.sinks
	digest, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	label := digest.String()
	if len(o.Tags) > 0 {
		label = o.Tags[0]
	}
	for _, pi := range imgs {
		if err := remotecache.RecordLazy(root.Content, pi.image, label); err != nil {
			return nil, ops.CheckSpace(fmt.Errorf("store image: %w", err), root.Dir)
		}
	}
	if err := root.Images.ExportIndex(ctx, idx, names); err != nil {
		return nil, ops.CheckSpace(fmt.Errorf("store image: %w", err), root.Dir)
	}
	for _, pi := range imgs {
		d, err := pi.image.Digest()
		if err != nil {
			return nil, err
		}
		cd, err := pi.image.ConfigName()
		if err != nil {
			return nil, err
		}
		o.Progress.Logf("exporting manifest %s done (%s)", d, platformString(pi.platform))
		o.Progress.Logf("exporting config %s done (%s)", cd, platformString(pi.platform))
	}
	for _, pi := range imgs {
		if pi.attestation == nil {
			continue
		}
		d, err := pi.attestation.Digest()
		if err != nil {
			return nil, err
		}
		o.Progress.Logf("exporting attestation manifest %s done (%s)", d, platformString(pi.platform))
	}
	o.Progress.Logf("exporting manifest list %s done", digest)
	for _, n := range names {
		o.Progress.Logf("naming to %s done", n)
	}
	if o.Push || t.push {
		o.Progress.Logf("pushing %s", strings.Join(names, ", "))
		if err := images.PushIndex(ctx, root.Content, idx, names, o.Registry, o.Progress); err != nil {
			return nil, ops.CheckSpace(err, root.Dir)
		}
	}
	for _, s := range sinks {
		if _, oci := s.(exporter.OCI); len(imgs) == 1 && !oci {
			if err := s.Export(ctx, imgs[0].image, names); err != nil {
				return nil, ops.CheckSpace(err, root.Dir, destOf(s))
			}
			continue
		}
		ie, ok := s.(exporter.IndexExporter)
		if !ok { // exporter.CheckPlatforms refused it before the build
			return nil, fmt.Errorf("%T cannot export a multi-platform image", s)
		}
		if err := ie.ExportIndex(ctx, idx, names); err != nil {
			return nil, ops.CheckSpace(err, root.Dir, destOf(s))
		}
	}
	res := &Result{Index: idx, Digest: digest, Names: names}
	if o.IIDFile != "" {
		if err := content.WriteFile(o.IIDFile, []byte(digest.String())); err != nil {
			return nil, fmt.Errorf("write --iidfile: %w", err)
		}
	}
	if o.Metadata != "" {
		if err := writeIndexMetadata(o.Metadata, idx, res); err != nil {
			return nil, fmt.Errorf("write --metadata-file: %w", err)
		}
	}
	return res, nil
}

// writeIndexMetadata writes the keys buildx writes for a multi-platform
// image build: the index's digest and descriptor (no config digest: each
// platform has its own).
func writeIndexMetadata(path string, idx v1.ImageIndex, r *Result) error {
	mt, err := idx.MediaType()
	if err != nil {
		return err
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return err
	}
	md := map[string]any{
		"containerimage.digest": r.Digest.String(),
		"containerimage.descriptor": map[string]any{
			"mediaType": string(mt), "digest": r.Digest.String(), "size": len(raw),
		},
	}
	if len(r.Names) > 0 {
		md["image.name"] = strings.Join(r.Names, ",")
	}
	b, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	return content.WriteFile(path, append(b, '\n'))
}

package builder

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

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
		o.Progress.Logf("exporting manifest %s done", d)
		o.Progress.Logf("exporting config %s done", cd)
	}
	for _, pi := range imgs {
		if pi.attestation == nil {
			continue
		}
		d, err := pi.attestation.Digest()
		if err != nil {
			return nil, err
		}
		o.Progress.Logf("exporting attestation manifest %s done", d)
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
	res := &Result{Index: idx, Digest: digest, Names: names, Executed: o.executed}
	return res, writeResultFiles(o, res)
}

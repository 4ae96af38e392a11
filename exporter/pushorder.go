package exporter

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// annotationRefDigest on an index descriptor names the manifest it
// refers to: an attestation manifest's subject.
const annotationRefDigest = "vnd.docker.reference.digest"

// refersTo says whether an index descriptor is about another manifest
// of the index (a BuildKit attestation manifest) rather than an image of
// its own.
func refersTo(d v1.Descriptor) bool {
	return d.Annotations[annotationRefType] == "attestation-manifest" || d.Annotations[annotationRefDigest] != ""
}

// pushOrdered pushes t by ref as remote.Push does, but an index with
// attestation manifests in three steps, as BuildKit pushes one: its
// images (concurrently, each by digest, blobs first), then the manifests
// that refer to them, then the index. A manifest with a subject thus
// reaches the registry after its subject (ggcr updates the referrers
// fallback tag sha256-HEX as it goes, on a registry without the OCI 1.1
// referrers API), and the index last. One Pusher serves all three, so
// no blob or manifest is checked or sent twice.
func pushOrdered(ctx context.Context, ref name.Reference, t remote.Taggable, opts []remote.Option) error {
	idx, ok := t.(v1.ImageIndex)
	if !ok {
		return remote.Push(ref, t, opts...)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	var images, referrers []v1.Descriptor
	for _, d := range im.Manifests {
		if refersTo(d) {
			referrers = append(referrers, d)
		} else {
			images = append(images, d)
		}
	}
	if len(referrers) == 0 {
		return remote.Push(ref, t, opts...)
	}
	p, err := remote.NewPusher(opts...)
	if err != nil {
		return err
	}
	for _, step := range [][]v1.Descriptor{images, referrers} {
		g, gctx := errgroup.WithContext(ctx)
		for _, d := range step {
			child, err := manifestOf(idx, d)
			if err != nil {
				return err
			}
			g.Go(func() error { return p.Push(gctx, ref.Context().Digest(d.Digest.String()), child) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return p.Push(ctx, ref, idx)
}

// manifestOf is the child d of idx: an image or a nested index.
func manifestOf(idx v1.ImageIndex, d v1.Descriptor) (remote.Taggable, error) {
	if d.MediaType.IsIndex() {
		return idx.ImageIndex(d.Digest)
	}
	return idx.Image(d.Digest)
}

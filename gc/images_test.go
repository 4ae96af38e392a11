package gc

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/gorae/gorae/root"
)

// blobsOf lists an image's manifest, config and layer digests.
func blobsOf(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	d, _ := img.Digest()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := []v1.Hash{d, m.Config.Digest}
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// TestPruneKeepsIndexChildren: a multi-platform image's name keeps its
// index and every stored child's blobs; once the name is gone, prune
// removes them all.
func TestPruneKeepsIndexChildren(t *testing.T) {
	root, err := root.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	ctx := t.Context()
	var imgs []v1.Image
	var idx v1.ImageIndex = empty.Index
	for _, arch := range []string{"amd64", "arm64", "s390x"} {
		img, err := random.Image(2000, 2)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	full := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: imgs[0]}, mutate.IndexAddendum{Add: imgs[1]})
	if err := root.Images.ExportIndex(ctx, full, []string{"full"}); err != nil {
		t.Fatal(err)
	}
	// A pulled index with only its s390x image.
	if err := root.Images.ExportPlatform(ctx, idx, imgs[2], []string{"partial"}); err != nil {
		t.Fatal(err)
	}
	fullD, _ := full.Digest()
	idxD, _ := idx.Digest()
	keep := []v1.Hash{fullD, idxD}
	for _, img := range imgs {
		keep = append(keep, blobsOf(t, img)...)
	}
	du, err := DiskUsage(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if du.Kinds[0].InUse != len(keep) || du.Kinds[0].Count != len(keep) {
		t.Errorf("du blobs: %d in use of %d, want all %d", du.Kinds[0].InUse, du.Kinds[0].Count, len(keep))
	}
	if _, err := Prune(ctx, root, PruneOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	for _, d := range keep {
		if !root.Content.Has(d) {
			t.Errorf("prune removed %s, which a stored index needs", d)
		}
	}
	for _, n := range []string{"full", "partial"} {
		if err := root.Images.Remove(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Prune(ctx, root, PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, d := range keep {
		if root.Content.Has(d) {
			t.Errorf("prune kept %s after the names were removed", d)
		}
	}
}

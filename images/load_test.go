package images

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestLoadOCIIndex: an OCI layout tar whose named entry is an index
// loads as a multi-platform image.
func TestLoadOCIIndex(t *testing.T) {
	root := openRoot(t)
	ctx := t.Context()
	var idx v1.ImageIndex = empty.Index
	for _, p := range []v1.Platform{amd64, arm64} {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: platformImage(t, p), Descriptor: v1.Descriptor{Platform: &p}})
	}
	dir := t.TempDir()
	l, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AppendIndex(idx, layout.WithAnnotations(map[string]string{"io.containerd.image.name": "docker.io/library/multi:1"})); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "oci.tar")
	tarDir(t, dir, tarPath)
	names, err := Load(ctx, root, tarPath)
	if err != nil || fmt.Sprint(names) != "[docker.io/library/multi:1]" {
		t.Fatalf("Load = %v, %v", names, err)
	}
	if _, d, err := root.Images.Index(ctx, "multi:1"); err != nil || d != mustDigest(t, idx) {
		t.Errorf("Index(multi:1) = %s, %v", d, err)
	}
	if _, _, err := root.Images.ImageFor(ctx, "multi:1", arm64); err != nil {
		t.Error(err)
	}
}

func tarDir(t *testing.T, dir, dest string) {
	t.Helper()
	f, err := os.Create(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

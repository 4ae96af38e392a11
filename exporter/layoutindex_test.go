package exporter

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// checkIndexLayout checks that dir is the OCI layout BuildKit writes for a
// multi-platform build: index.json has one entry per name (or one unnamed
// entry), the image index, whose manifests are imgs with their platforms;
// the blobs are exactly the index, manifests, configs and layers.
func checkIndexLayout(t *testing.T, dir string, idx v1.ImageIndex, imgs []v1.Image, wantNames [][2]string) {
	t.Helper()
	var top v1.IndexManifest
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	mt, _ := idx.MediaType()
	want := indexDigest(t, idx)
	if len(top.Manifests) != len(wantNames) {
		t.Fatalf("index.json has %d entries, want %d", len(top.Manifests), len(wantNames))
	}
	for i, d := range top.Manifests {
		if d.Digest != want || d.MediaType != mt || d.Platform != nil {
			t.Errorf("index.json entry %d = %s %s (platform %v), want the index %s %s", i, d.MediaType, d.Digest, d.Platform, mt, want)
		}
		if got := d.Annotations[annotationImageName]; got != wantNames[i][0] {
			t.Errorf("entry %d image name %q, want %q", i, got, wantNames[i][0])
		}
		if got := d.Annotations[annotationRefName]; got != wantNames[i][1] {
			t.Errorf("entry %d ref name %q, want %q", i, got, wantNames[i][1])
		}
	}
	lp, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lp.ImageIndex(want)
	if err != nil {
		t.Fatal(err)
	}
	im, err := got.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != mt || len(im.Manifests) != len(imgs) {
		t.Fatalf("index blob: %s with %d manifests, want %s with %d", im.MediaType, len(im.Manifests), mt, len(imgs))
	}
	wantBlobs := []string{want.Hex}
	for i, d := range im.Manifests {
		cf, _ := imgs[i].ConfigFile()
		if d.Digest != digestOf(t, imgs[i]) || d.Platform == nil || d.Platform.OS != cf.OS || d.Platform.Architecture != cf.Architecture {
			t.Errorf("manifest %d = %s on %v, want %s on %s/%s", i, d.Digest, d.Platform, digestOf(t, imgs[i]), cf.OS, cf.Architecture)
		}
		img, err := got.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		gcf, err := img.ConfigFile()
		if err != nil || gcf.Architecture != cf.Architecture {
			t.Errorf("manifest %d config: %v, architecture %q", i, err, gcf.Architecture)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			d, _ := l.Digest()
			rc, err := l.Compressed()
			if err != nil {
				t.Fatalf("layer %s: %v", d, err)
			}
			sum, _, err := v1.SHA256(rc)
			rc.Close()
			if err != nil || sum != d {
				t.Errorf("layer blob %s hashes to %s (%v)", d, sum, err)
			}
			wantBlobs = append(wantBlobs, d.Hex)
		}
		cn, _ := img.ConfigName()
		wantBlobs = append(wantBlobs, d.Digest.Hex, cn.Hex)
	}
	slices.Sort(wantBlobs)
	wantBlobs = slices.Compact(wantBlobs)
	onlyEntries(t, filepath.Join(dir, "blobs", "sha256"), wantBlobs...)
}

func TestOCIIndexTar(t *testing.T) {
	idx, imgs := randomIndex(t, types.OCIImageIndex)
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.tar")
	if err := (OCI{Dest: dest, Tar: true}).ExportIndex(t.Context(), idx, []string{"app", "ghcr.io/o/app:v1"}); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, dir, "out.tar")
	// readTar fails on an entry written twice: the shared layer is once.
	readTar(t, dest)
	un := t.TempDir()
	untar(t, dest, un)
	onlyEntries(t, un, "blobs", "index.json", "oci-layout")
	checkIndexLayout(t, un, idx, imgs, [][2]string{
		{"docker.io/library/app:latest", "latest"},
		{"ghcr.io/o/app:v1", "v1"},
	})
}

func TestOCIIndexDir(t *testing.T) {
	idx, imgs := randomIndex(t, types.OCIImageIndex)
	dest := filepath.Join(t.TempDir(), "layout")
	if err := (OCI{Dest: dest}).ExportIndex(t.Context(), idx, nil); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, dest, "blobs", "index.json", "oci-layout")
	checkIndexLayout(t, dest, idx, imgs, [][2]string{{"", ""}})
}

// With Docker media types the index is a manifest list, and index.json
// says so.
func TestOCIIndexDockerMediaTypes(t *testing.T) {
	idx, imgs := randomIndex(t, types.DockerManifestList)
	dest := filepath.Join(t.TempDir(), "layout")
	if err := (OCI{Dest: dest}).ExportIndex(t.Context(), idx, []string{"app:1"}); err != nil {
		t.Fatal(err)
	}
	checkIndexLayout(t, dest, idx, imgs, [][2]string{{"docker.io/library/app:1", "1"}})
	for i, img := range imgs {
		if mt, _ := img.MediaType(); mt != types.DockerManifestSchema2 {
			t.Errorf("image %d media type %s, want %s", i, mt, types.DockerManifestSchema2)
		}
	}
}

func TestDockerRefusesIndex(t *testing.T) {
	idx, _ := randomIndex(t, types.DockerManifestList)
	dir := t.TempDir()
	err := Docker{Dest: filepath.Join(dir, "img.tar")}.ExportIndex(t.Context(), idx, []string{"app:1"})
	want := "docker exporter does not support exporting manifest lists, use the oci exporter, type=local/tar with platform-split, or --push"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	onlyEntries(t, dir)
}

func TestCheckPlatforms(t *testing.T) {
	for _, e := range []Exporter{OCI{Dest: "o"}, Local{Dest: "d"}, Tar{Dest: "-"}, Registry{}, Image{Push: true}, Docker{Dest: "x.tar"}} {
		if err := CheckPlatforms(e, 1); err != nil {
			t.Errorf("%T with one platform: %v", e, err)
		}
	}
	for _, e := range []Exporter{OCI{Dest: "o"}, Local{Dest: "d"}, Tar{Dest: "-"}, Registry{}, Image{}} {
		if err := CheckPlatforms(e, 2); err != nil {
			t.Errorf("%T with two platforms: %v", e, err)
		}
	}
	err := CheckPlatforms(Docker{Dest: "x.tar"}, 2)
	if err == nil || !strings.HasPrefix(err.Error(), "--output type=docker cannot hold 2 platforms: ") || !errors.Is(err, errManifestList) {
		t.Errorf("type=docker with two platforms: %v", err)
	}
	if err := CheckPlatforms(&recorder{}, 3); err == nil || !strings.Contains(err.Error(), "type=oci") {
		t.Errorf("an exporter without ExportIndex: %v", err)
	}
}

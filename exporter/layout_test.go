package exporter

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// checkLayout opens dir as an OCI layout and checks it holds img under
// the given names, annotated as BuildKit does.
func checkLayout(t *testing.T, dir string, img v1.Image, wantNames [][2]string) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != len(wantNames) {
		t.Fatalf("index has %d entries, want %d", len(im.Manifests), len(wantNames))
	}
	want := digestOf(t, img)
	for i, d := range im.Manifests {
		if d.Digest != want {
			t.Errorf("entry %d digest %s, want %s", i, d.Digest, want)
		}
		if got := d.Annotations[annotationImageName]; got != wantNames[i][0] {
			t.Errorf("entry %d image name %q, want %q", i, got, wantNames[i][0])
		}
		if got := d.Annotations[annotationRefName]; got != wantNames[i][1] {
			t.Errorf("entry %d ref name %q, want %q", i, got, wantNames[i][1])
		}
	}
	got, err := idx.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	wantLs, _ := img.Layers()
	if len(ls) != len(wantLs) {
		t.Fatalf("%d layers, want %d", len(ls), len(wantLs))
	}
	if _, err := got.ConfigFile(); err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(rc); err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		rc.Close()
		d, _ := wantLs[i].Digest()
		sum, _, err := v1.SHA256(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if sum != d {
			t.Errorf("layer %d blob hashes to %s, want %s", i, sum, d)
		}
	}
}

func TestOCITarRoundTrip(t *testing.T) {
	img := randomImage(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.tar")
	err := OCI{Dest: dest, Tar: true}.Export(t.Context(), img, []string{"app", "ghcr.io/o/app:v1"})
	if err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, dir, "out.tar")
	fi, _ := os.Stat(dest)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode())
	}
	un := t.TempDir()
	untar(t, dest, un)
	checkLayout(t, un, img, [][2]string{
		{"docker.io/library/app:latest", "latest"},
		{"ghcr.io/o/app:v1", "v1"},
	})
}

func TestOCIDirRoundTrip(t *testing.T) {
	img := randomImage(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "layout")
	// An existing destination is replaced, not merged into.
	if err := os.MkdirAll(filepath.Join(dest, "stale"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := (OCI{Dest: dest}).Export(t.Context(), img, nil); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, dir, "layout")
	onlyEntries(t, dest, "blobs", "index.json", "oci-layout")
	checkLayout(t, dest, img, [][2]string{{"", ""}})
}

func TestOCIToStdout(t *testing.T) {
	img := randomImage(t)
	var buf bytes.Buffer
	if err := (OCI{Dest: "-", Tar: true, Out: &buf}).Export(t.Context(), img, nil); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "o.tar")
	if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	un := t.TempDir()
	untar(t, f, un)
	checkLayout(t, un, img, [][2]string{{"", ""}})
}

func TestDockerTarLoads(t *testing.T) {
	img := randomImage(t)
	dest := filepath.Join(t.TempDir(), "img.tar")
	if err := (Docker{Dest: dest}).Export(t.Context(), img, []string{"app:1", "localhost:5000/x/y"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"app:1", "localhost:5000/x/y:latest"} {
		tag, err := name.NewTag(n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tarball.ImageFromPath(dest, &tag)
		if err != nil {
			t.Fatalf("load %s: %v", n, err)
		}
		gc, _ := got.ConfigName()
		wc, _ := img.ConfigName()
		if gc != wc {
			t.Errorf("%s: config %s, want %s", n, gc, wc)
		}
		gl, err := got.Layers()
		if err != nil {
			t.Fatal(err)
		}
		wl, _ := img.Layers()
		for i := range wl {
			gd, err := gl[i].DiffID()
			if err != nil {
				t.Fatal(err)
			}
			wd, _ := wl[i].DiffID()
			if gd != wd {
				t.Errorf("%s layer %d diffID %s, want %s", n, i, gd, wd)
			}
		}
	}
	_, bodies, _ := readTar(t, dest)
	var m []dockerManifest
	if err := json.Unmarshal([]byte(bodies["manifest.json"]), &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].RepoTags) != 2 || m[0].RepoTags[0] != "app:1" || m[0].RepoTags[1] != "localhost:5000/x/y:latest" {
		t.Errorf("manifest.json = %+v", m)
	}
	var repos map[string]map[string]string
	if err := json.Unmarshal([]byte(bodies["repositories"]), &repos); err != nil {
		t.Fatal(err)
	}
	wc, _ := img.ConfigName()
	if repos["app"]["1"] != wc.Hex || repos["localhost:5000/x/y"]["latest"] != wc.Hex {
		t.Errorf("repositories = %v", repos)
	}
	if _, ok := bodies["index.json"]; !ok {
		t.Error("docker tar has no index.json")
	}
}

func TestDockerNeedsTags(t *testing.T) {
	img := randomImage(t)
	dir := t.TempDir()
	err := Docker{Dest: filepath.Join(dir, "x.tar")}.Export(t.Context(), img, []string{"app@sha256:" + digestOf(t, img).Hex})
	if err == nil {
		t.Fatal("no error for a digest name")
	}
	onlyEntries(t, dir)
}

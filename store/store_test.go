package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/content"
)

func open(t *testing.T) *Store {
	t.Helper()
	root := t.TempDir()
	c, err := content.Open(filepath.Join(root, "content"), filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(root, "store"), c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomImage(t *testing.T, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(256, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func compressed(t *testing.T, l v1.Layer) []byte {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExportReadBack(t *testing.T) {
	docker := randomImage(t, 3)
	oci := mutate.MediaType(randomImage(t, 2), types.OCIManifestSchema1)
	for _, tc := range []struct {
		name string
		img  v1.Image
	}{{"docker", docker}, {"oci", oci}} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			ctx := t.Context()
			if err := s.Export(ctx, tc.img, []string{"app", "example.com/team/app:v1"}); err != nil {
				t.Fatal(err)
			}
			got, d, err := s.Image(ctx, "app:latest")
			if err != nil {
				t.Fatal(err)
			}
			if want := digest(t, tc.img); d != want || digest(t, got) != want {
				t.Fatalf("read back digest %s / %s, want %s", d, digest(t, got), want)
			}
			wantCfg, _ := tc.img.RawConfigFile()
			if gotCfg, err := got.RawConfigFile(); err != nil || !bytes.Equal(gotCfg, wantCfg) {
				t.Errorf("config differs (%v)", err)
			}
			if mt, _ := got.MediaType(); mt != mustMT(tc.img) {
				t.Errorf("media type %s, want %s", mt, mustMT(tc.img))
			}
			wantLayers, _ := tc.img.Layers()
			gotLayers, err := got.Layers()
			if err != nil || len(gotLayers) != len(wantLayers) {
				t.Fatalf("%d layers (%v), want %d", len(gotLayers), err, len(wantLayers))
			}
			for i := range wantLayers {
				w := compressed(t, wantLayers[i])
				g := compressed(t, gotLayers[i])
				if !bytes.Equal(w, g) {
					t.Errorf("layer %d compressed bytes differ", i)
				}
				wd, _ := wantLayers[i].DiffID()
				if gd, err := gotLayers[i].DiffID(); err != nil || gd != wd {
					t.Errorf("layer %d diffID %s (%v), want %s", i, gd, err, wd)
				}
			}
			// Consumers such as tarball.Write must accept it.
			ref := mustTag(t, "example.com/team/app:v1")
			if err := tarball.Write(ref, got, io.Discard); err != nil {
				t.Errorf("tarball.Write: %v", err)
			}
			// Same image by the other name, by digest and by digest prefix.
			for _, r := range []string{"docker.io/library/app:latest", "example.com/team/app:v1", d.String(), d.Hex[:12], "sha256:" + d.Hex[:7], "app@" + d.String()} {
				if _, got, err := s.Image(ctx, r); err != nil || got != d {
					t.Errorf("Image(%q) = %s, %v; want %s", r, got, err, d)
				}
			}
		})
	}
}

func mustMT(img v1.Image) types.MediaType {
	mt, _ := img.MediaType()
	return mt
}

func TestExportSkipsPresentBlobs(t *testing.T) {
	s := open(t)
	img := randomImage(t, 2)
	if err := s.Export(t.Context(), img, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	// A second export of the same image must not read the layers again.
	layers, _ := img.Layers()
	broken, err := mutate.AppendLayers(mustEmpty(t), failingLayer{layers[0]}, failingLayer{layers[1]})
	if err != nil {
		t.Fatal(err)
	}
	broken, _ = mutate.ConfigFile(broken, mustConfig(t, img))
	if err := s.Export(t.Context(), broken, []string{"b"}); err != nil {
		t.Errorf("re-export with stored layers read them: %v", err)
	}
}

type failingLayer struct{ v1.Layer }

func (failingLayer) Compressed() (io.ReadCloser, error) { return nil, errors.New("layer read again") }

func mustEmpty(t *testing.T) v1.Image {
	img, err := random.Image(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustConfig(t *testing.T, img v1.Image) *v1.ConfigFile {
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func TestTagListRemove(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	a, b := randomImage(t, 1), randomImage(t, 1)
	if err := s.Export(ctx, a, []string{"one:1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Export(ctx, b, []string{"two:2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "one:1", "zed/alias"); err != nil {
		t.Fatal(err)
	}
	// Moving a name: "two:2" now names a.
	if err := s.Tag(ctx, "one:1", "two:2"); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, im := range list {
		got = append(got, im.Name+"="+im.Digest.Hex[:6])
		if im.Size <= 0 {
			t.Errorf("%s: size %d", im.Name, im.Size)
		}
	}
	da := digest(t, a).Hex[:6]
	want := []string{"docker.io/library/one:1=" + da, "docker.io/library/two:2=" + da, "docker.io/zed/alias:latest=" + da}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	if err := s.Remove(ctx, "two:2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Image(ctx, "two:2"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "image docker.io/library/two:2 not found in the local store") {
		t.Errorf("Image after Remove = %v", err)
	}
	if _, _, err := s.Image(ctx, "one:1"); err != nil {
		t.Errorf("other name of the removed one: %v", err)
	}
	// Removing by digest removes every name of that image.
	if err := s.Remove(ctx, digest(t, a).String()); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Errorf("List after removing by digest = %v", list)
	}
	if err := s.Remove(ctx, "one:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove of a missing name = %v", err)
	}
	if err := s.Tag(ctx, "nothing", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tag of a missing image = %v", err)
	}
	// Blobs stay for GC.
	if _, err := s.c.Size(digest(t, a)); err != nil {
		t.Errorf("manifest blob gone after rmi: %v", err)
	}
}

func TestCreatedAndUnnamed(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	img, err := mutate.CreatedAt(randomImage(t, 1), v1.Time{Time: created})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Export(ctx, img, nil); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "" || list[0].Digest != digest(t, img) {
		t.Fatalf("List = %v, %v; want one unnamed entry", list, err)
	}
	if !list[0].Created.Equal(created) {
		t.Errorf("Created = %v, want %v", list[0].Created, created)
	}
	// Naming it replaces the unnamed entry.
	if err := s.Tag(ctx, digest(t, img).Hex[:10], "named"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.List(ctx); len(list) != 1 || list[0].Name != "docker.io/library/named:latest" {
		t.Errorf("List after tag = %v", list)
	}
}

func TestRejectsBadNames(t *testing.T) {
	s := open(t)
	img := randomImage(t, 1)
	for _, n := range []string{"Upper", "app@sha256:" + strings.Repeat("a", 64)} {
		if err := s.Export(t.Context(), img, []string{n}); err == nil || !strings.Contains(err.Error(), "invalid image name") {
			t.Errorf("Export as %q = %v", n, err)
		}
	}
}

func TestAmbiguousPrefix(t *testing.T) {
	idx := &v1.IndexManifest{Manifests: []v1.Descriptor{
		{Digest: v1.Hash{Algorithm: "sha256", Hex: "ab" + strings.Repeat("0", 62)}},
		{Digest: v1.Hash{Algorithm: "sha256", Hex: "ac" + strings.Repeat("0", 62)}},
	}}
	if _, _, err := resolve(idx, "a", nil); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("resolve(a) = %v, want ambiguous", err)
	}
	if d, _, err := resolve(idx, "sha256:ac", nil); err != nil || d.Digest.Hex[:2] != "ac" {
		t.Errorf("resolve(sha256:ac) = %v, %v", d.Digest, err)
	}
}

func TestConcurrentExports(t *testing.T) {
	s := open(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	imgs := make([]v1.Image, n)
	for i := range n {
		imgs[i] = randomImage(t, 1)
	}
	for i := range n {
		wg.Go(func() { errs[i] = s.Export(t.Context(), imgs[i], []string{fmt.Sprintf("app%d", i)}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if _, d, err := s.Image(t.Context(), fmt.Sprintf("app%d", i)); err != nil || d != digest(t, imgs[i]) {
			t.Errorf("app%d: %s, %v", i, d, err)
		}
	}
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "index-") {
			t.Errorf("temp index left behind: %s", e.Name())
		}
	}
}

func TestCorruptIndex(t *testing.T) {
	s := open(t)
	if err := os.WriteFile(filepath.Join(s.dir, "index.json"), []byte(`{"manifests": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Image(t.Context(), "app")
	if err == nil || !strings.Contains(err.Error(), "index.json is corrupt") || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Errorf("Image over a corrupt index = %v", err)
	}
	if _, err := s.List(t.Context()); err == nil {
		t.Error("List over a corrupt index succeeded")
	}
	if err := s.Export(t.Context(), randomImage(t, 1), []string{"app"}); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("Export over a corrupt index = %v", err)
	}
}

func mustTag(t *testing.T, s string) name.Tag {
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

package store

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/content"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

// platformImage is a random image whose config names p.
func platformImage(t *testing.T, p v1.Platform) v1.Image {
	t.Helper()
	img := randomImage(t, 2)
	cf := mustConfig(t, img)
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// twoPlatforms is an index of a linux/amd64 and a linux/arm64 image (in
// that order), as the builder makes one.
func twoPlatforms(t *testing.T, mt types.MediaType) (idx v1.ImageIndex, amd, arm v1.Image) {
	t.Helper()
	amd, arm = platformImage(t, amd64), platformImage(t, arm64)
	idx = mutate.AppendManifests(mutate.IndexMediaType(empty.Index, mt),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &amd64}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &arm64}})
	return idx, amd, arm
}

func indexDigest(t *testing.T, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestExportIndexReadBack(t *testing.T) {
	for _, mt := range []types.MediaType{types.OCIImageIndex, types.DockerManifestList} {
		t.Run(string(mt), func(t *testing.T) {
			s := open(t)
			ctx := t.Context()
			idx, amd, arm := twoPlatforms(t, mt)
			if err := s.ExportIndex(ctx, idx, []string{"app", "example.com/app:v1"}); err != nil {
				t.Fatal(err)
			}
			got, d, err := s.Index(ctx, "example.com/app:v1")
			if err != nil || d != indexDigest(t, idx) {
				t.Fatalf("Index = %s, %v; want %s", d, err, indexDigest(t, idx))
			}
			wantRaw, _ := idx.RawManifest()
			if raw, _ := got.RawManifest(); !bytes.Equal(raw, wantRaw) {
				t.Errorf("index manifest differs:\n%s\nwant\n%s", raw, wantRaw)
			}
			if gmt, _ := got.MediaType(); gmt != mt {
				t.Errorf("index media type %s, want %s", gmt, mt)
			}
			for _, tc := range []struct {
				p    v1.Platform
				want v1.Image
			}{{amd64, amd}, {arm64, arm}, {v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, arm}} {
				img, d, err := s.ImageFor(ctx, "app", tc.p)
				if err != nil || d != digest(t, tc.want) || digest(t, img) != d {
					t.Errorf("ImageFor(%s) = %s, %v; want %s", tc.p, d, err, digest(t, tc.want))
					continue
				}
				wantCfg, _ := tc.want.RawConfigFile()
				if cfg, err := img.RawConfigFile(); err != nil || !bytes.Equal(cfg, wantCfg) {
					t.Errorf("ImageFor(%s): config differs (%v)", tc.p, err)
				}
				wl, _ := tc.want.Layers()
				gl, err := img.Layers()
				if err != nil || len(gl) != len(wl) {
					t.Fatalf("%d layers (%v), want %d", len(gl), err, len(wl))
				}
				for i := range wl {
					if !bytes.Equal(compressed(t, wl[i]), compressed(t, gl[i])) {
						t.Errorf("ImageFor(%s): layer %d differs", tc.p, i)
					}
				}
				// The index's own Image gives the same child.
				if ci, err := got.Image(d); err != nil || digest(t, ci) != d {
					t.Errorf("Index.Image(%s) = %v", d, err)
				}
			}
			// Image picks this machine's platform.
			host := map[string]v1.Image{"amd64": amd, "arm64": arm}[runtime.GOARCH]
			if _, d, err := s.Image(ctx, "app"); host != nil && (err != nil || d != digest(t, host)) {
				t.Errorf("Image(app) = %s, %v; want the %s child", d, err, runtime.GOARCH)
			}
			_, _, err = s.ImageFor(ctx, "app", v1.Platform{OS: "linux", Architecture: "s390x"})
			want := "docker.io/library/app:latest is a multi-platform image (linux/amd64, linux/arm64) with no linux/s390x image: use --platform"
			if !errors.Is(err, ErrNotFound) || err == nil || err.Error() != want {
				t.Errorf("ImageFor(s390x) = %v, want %q matching ErrNotFound", err, want)
			}
		})
	}
}

// TestChildByDigest: a child manifest is found by its digest, as the
// builder's base-image op loads the platform image it pinned.
func TestChildByDigest(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	idx, _, arm := twoPlatforms(t, types.OCIImageIndex)
	if err := s.ExportIndex(ctx, idx, []string{"app"}); err != nil {
		t.Fatal(err)
	}
	d := digest(t, arm)
	for _, r := range []string{d.String(), d.Hex[:12], "sha256:" + d.Hex[:8], "app@" + d.String()} {
		if img, got, err := s.Image(ctx, r); err != nil || got != d || digest(t, img) != d {
			t.Errorf("Image(%q) = %s, %v; want %s", r, got, err, d)
		}
	}
	// The index by its digest is the index, and a tag can name a child.
	if _, got, err := s.Index(ctx, indexDigest(t, idx).String()); err != nil || got != indexDigest(t, idx) {
		t.Errorf("Index(digest) = %s, %v", got, err)
	}
	if err := s.Tag(ctx, d.String(), "arm-only"); err != nil {
		t.Fatal(err)
	}
	if _, got, err := s.ImageFor(ctx, "arm-only", arm64); err != nil || got != d {
		t.Errorf("tagged child = %s, %v", got, err)
	}
	if _, _, err := s.Index(ctx, "arm-only"); !errors.Is(err, ErrNotIndex) || !strings.Contains(err.Error(), "arm-only:latest is a single-platform image") {
		t.Errorf("Index of a single image = %v", err)
	}
	if _, _, err := s.ImageFor(ctx, "arm-only", amd64); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "image docker.io/library/arm-only:latest is for linux/arm64, not linux/amd64") {
		t.Errorf("ImageFor a single image of another platform = %v", err)
	}
}

// TestPartialIndex: a pull stores an index with one platform's image;
// the other is ErrNotFound until it is pulled too, and then the name is
// still the same index.
func TestPartialIndex(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	idx, amd, arm := twoPlatforms(t, types.DockerManifestList)
	if err := s.ExportPlatform(ctx, idx, amd, []string{"app"}); err != nil {
		t.Fatal(err)
	}
	if _, d, err := s.ImageFor(ctx, "app", amd64); err != nil || d != digest(t, amd) {
		t.Errorf("ImageFor(amd64) = %s, %v", d, err)
	}
	_, _, err := s.ImageFor(ctx, "app", arm64)
	want := "the linux/arm64 image of docker.io/library/app:latest is not in the local store (only part of the multi-platform image was pulled): pull it with gorae pull --platform linux/arm64 docker.io/library/app:latest"
	if !errors.Is(err, ErrNotFound) || err.Error() != want {
		t.Errorf("ImageFor(arm64) = %v, want %q", err, want)
	}
	if _, _, err := s.Image(ctx, digest(t, arm).String()); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent child by digest = %v", err)
	}
	got, _, err := s.Index(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := got.Image(digest(t, arm)); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "pull it with gorae pull --platform linux/arm64") {
		t.Errorf("Index.Image of the absent child = %v", err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	rawIdx, _ := idx.RawManifest()
	if im := list[0]; !im.Index || im.Digest != indexDigest(t, idx) || fmt.Sprint(im.Platforms) != "[linux/amd64]" || im.Size != int64(len(rawIdx))+imageSize(t, amd) || len(im.Children) != 1 {
		t.Errorf("List = %+v; want the index, linux/amd64 only, size %d", im, int64(len(rawIdx))+imageSize(t, amd))
	}
	// The second platform adds to the index.
	if err := s.ExportPlatform(ctx, idx, arm, []string{"app"}); err != nil {
		t.Fatal(err)
	}
	if _, d, err := s.ImageFor(ctx, "app", arm64); err != nil || d != digest(t, arm) {
		t.Errorf("ImageFor(arm64) after its pull = %s, %v", d, err)
	}
	list, _ = s.List(ctx)
	if im := list[0]; len(list) != 1 || im.Digest != indexDigest(t, idx) || fmt.Sprint(im.Platforms) != "[linux/amd64 linux/arm64]" || im.Size != int64(len(rawIdx))+imageSize(t, amd)+imageSize(t, arm) {
		t.Errorf("List after both pulls = %+v", list)
	}
	// An image the index does not list is refused.
	if err := s.ExportPlatform(ctx, idx, randomImage(t, 1), []string{"app"}); err == nil || !strings.Contains(err.Error(), "is not one of the index's manifests") {
		t.Errorf("ExportPlatform of a stranger = %v", err)
	}
}

// imageSize is manifest, config and compressed layers.
func imageSize(t *testing.T, img v1.Image) int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	n := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

func TestListPlatformsTagRemoveIndex(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	idx, amd, arm := twoPlatforms(t, types.OCIImageIndex)
	if err := s.ExportIndex(ctx, idx, []string{"multi"}); err != nil {
		t.Fatal(err)
	}
	armv7 := v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	if err := s.Export(ctx, platformImage(t, armv7), []string{"single"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "multi", "alias:1"); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, im := range list {
		got = append(got, fmt.Sprintf("%s %v %v", im.Name, im.Index, im.Platforms))
	}
	want := []string{
		"docker.io/library/alias:1 true [linux/amd64 linux/arm64]",
		"docker.io/library/multi:latest true [linux/amd64 linux/arm64]",
		"docker.io/library/single:latest false [linux/arm/v7]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rawIdx, _ := idx.RawManifest()
	if list[0].Size != int64(len(rawIdx))+imageSize(t, amd)+imageSize(t, arm) {
		t.Errorf("index size %d, want %d", list[0].Size, int64(len(rawIdx))+imageSize(t, amd)+imageSize(t, arm))
	}
	// An arm image with no variant in --platform is arm/v7.
	if _, _, err := s.ImageFor(ctx, "single", v1.Platform{OS: "linux", Architecture: "arm"}); err != nil {
		t.Errorf("ImageFor(linux/arm) of an arm/v7 image = %v", err)
	}
	if err := s.Remove(ctx, "multi"); err != nil {
		t.Fatal(err)
	}
	if _, d, err := s.Index(ctx, "alias:1"); err != nil || d != indexDigest(t, idx) {
		t.Errorf("the other name after rmi = %s, %v", d, err)
	}
	if err := s.Remove(ctx, indexDigest(t, idx).String()); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.List(ctx); len(list) != 1 || list[0].Name != "docker.io/library/single:latest" {
		t.Errorf("List after removing the index by digest = %+v", list)
	}
}

// TestExportIndexLazyLayers: a child's layer that is only in a registry
// (a lazy blob) is not read by ExportIndex, as Export leaves it too.
func TestExportIndexLazyLayers(t *testing.T) {
	s := open(t)
	img := platformImage(t, amd64)
	layers, _ := img.Layers()
	lazy, err := mutate.AppendLayers(mustEmpty(t), failingLayer{layers[0]}, layers[1])
	if err != nil {
		t.Fatal(err)
	}
	lazy, _ = mutate.ConfigFile(lazy, mustConfig(t, img))
	d, _ := layers[0].Digest()
	size, _ := layers[0].Size()
	if err := s.c.AddRemote(d, content.RemoteSource{Ref: "127.0.0.1:5000/cache", Size: size, MediaType: types.DockerLayer}); err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: lazy, Descriptor: v1.Descriptor{Platform: &amd64}})
	if err := s.ExportIndex(t.Context(), idx, []string{"lazy"}); err != nil {
		t.Fatalf("ExportIndex read a lazy layer: %v", err)
	}
	if s.c.Has(d) {
		t.Error("the lazy layer was stored")
	}
	if _, _, err := s.ImageFor(t.Context(), "lazy", amd64); err != nil {
		t.Error(err)
	}
}

func TestExportIndexRejectsNested(t *testing.T) {
	s := open(t)
	inner, _, _ := twoPlatforms(t, types.OCIImageIndex)
	outer := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: inner})
	if err := s.ExportIndex(t.Context(), outer, []string{"nested"}); err == nil || !strings.Contains(err.Error(), "is itself an index") {
		t.Errorf("ExportIndex of an index of indexes = %v", err)
	}
	if list, _ := s.List(t.Context()); len(list) != 0 {
		t.Errorf("a refused index was named: %+v", list)
	}
}

// TestConcurrentIndexExports: readers never see a name whose children
// are missing while writers export indexes under it.
func TestConcurrentIndexExports(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	const n = 4
	idxs := make([]v1.ImageIndex, n)
	for i := range idxs {
		idxs[i], _, _ = twoPlatforms(t, types.OCIImageIndex)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = s.ExportIndex(ctx, idxs[i], []string{"app", fmt.Sprintf("app%d", i)}) })
	}
	stop := make(chan struct{})
	var readErr error
	reader := sync.WaitGroup{}
	reader.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, p := range []v1.Platform{amd64, arm64} {
				img, _, err := s.ImageFor(ctx, "app", p)
				if errors.Is(err, ErrNotFound) && !strings.Contains(err.Error(), "platform") {
					continue // not yet named
				}
				if err == nil {
					_, err = img.RawConfigFile()
				}
				if err != nil {
					readErr = err
					return
				}
			}
		}
	})
	wg.Wait()
	close(stop)
	reader.Wait()
	if readErr != nil {
		t.Errorf("a reader saw a half-exported index: %v", readErr)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if _, d, err := s.Index(ctx, fmt.Sprintf("app%d", i)); err != nil || d != indexDigest(t, idxs[i]) {
			t.Errorf("app%d = %s, %v", i, d, err)
		}
	}
	_, d, err := s.Index(ctx, "app")
	if err != nil || !func() bool {
		for _, idx := range idxs {
			if indexDigest(t, idx) == d {
				return true
			}
		}
		return false
	}() {
		t.Errorf("app = %s, %v: not one of the exported indexes", d, err)
	}
}

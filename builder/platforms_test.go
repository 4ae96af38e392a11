package builder

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/root"
)

// storeBaseIndex stores a linux/amd64 + linux/arm64 base image as name.
func storeBaseIndex(t *testing.T, r *root.Root, name string) {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if err := r.Images.ExportIndex(t.Context(), idx, []string{name}); err != nil {
		t.Fatal(err)
	}
}

// TestBuildTwoPlatforms builds a COPY-only Dockerfile for two platforms
// in process (so that -race sees the concurrent conversions, the shared
// base image resolver, the lint warnings, the shared layer writes and the
// index export): one index in the store, each platform's base image, the
// index digest in --iidfile and --metadata-file, each lint finding once.
func TestBuildTwoPlatforms(t *testing.T) {
	root := openTestRoot(t)
	storeBaseIndex(t, root, "localhost:5000/base:multi")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("from localhost:5000/base:multi\nARG TARGETARCH\nCOPY a.txt /a-$TARGETARCH\nCOPY a.txt /a\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644)
	var buf bytes.Buffer
	p, err := progress.New(&buf, "plain")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := Build(t.Context(), root, Options{
		ContextDir: dir, Tags: []string{"app:1"}, Platforms: []string{"linux/amd64,linux/arm64"},
		Progress: p, IIDFile: filepath.Join(out, "iid"), Metadata: filepath.Join(out, "meta.json"),
	})
	p.Close()
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, buf.String())
	}
	idx, d, err := root.Images.Index(t.Context(), "app:1")
	if err != nil || d != res.Digest {
		t.Fatalf("stored index %v %v, want %s", d, err, res.Digest)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 2 {
		t.Fatalf("index manifest %+v, %v", im, err)
	}
	for i, arch := range []string{"amd64", "arm64"} {
		if a := im.Manifests[i].Platform.Architecture; a != arch {
			t.Errorf("manifest %d is for %s, want %s", i, a, arch)
		}
		img, err := idx.Image(im.Manifests[i].Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil || cf.Architecture != arch || len(cf.RootFS.DiffIDs) != 3 {
			t.Errorf("%s image config %+v, %v", arch, cf, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "iid")); string(b) != res.Digest.String() {
		t.Errorf("--iidfile %q, want %s", b, res.Digest)
	}
	var md map[string]any
	b, _ := os.ReadFile(filepath.Join(out, "meta.json"))
	if err := json.Unmarshal(b, &md); err != nil || md["containerimage.digest"] != res.Digest.String() || md["containerimage.config.digest"] != nil ||
		md["containerimage.descriptor"].(map[string]any)["mediaType"] != string(types.OCIImageIndex) {
		t.Errorf("--metadata-file %s, %v", b, err)
	}
	if n := strings.Count(buf.String(), "WARN: ConsistentInstructionCasing"); n != 1 {
		t.Errorf("the lint warning is shown %d times, want once:\n%s", n, buf.String())
	}
}

// TestBuildEmptyPlatformIsImplicit: --platform "" (an unset variable in a
// script) is no --platform: a final stage FROM --platform=X keeps X, as
// without the flag.
func TestBuildEmptyPlatformIsImplicit(t *testing.T) {
	root := openTestRoot(t)
	storeBaseIndex(t, root, "localhost:5000/base:multi")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM --platform=linux/arm64 localhost:5000/base:multi\n"), 0o644)
	for _, plats := range [][]string{nil, {""}, {" "}} {
		p, err := progress.New(&bytes.Buffer{}, "quiet")
		if err != nil {
			t.Fatal(err)
		}
		res, err := Build(t.Context(), root, Options{ContextDir: dir, Platforms: plats, Progress: p})
		p.Close()
		if err != nil {
			t.Fatalf("--platform %q: %v", plats, err)
		}
		cf, err := res.Image.ConfigFile()
		if err != nil || cf.Architecture != "arm64" {
			t.Errorf("--platform %q: the image is for %s, want arm64 (the FROM's)", plats, cf.Architecture)
		}
	}
}

// TestExplainTargetNormalized: --explain compares a build with the last
// one for the same platforms, however they were spelled.
func TestExplainTargetNormalized(t *testing.T) {
	want := explainTarget(Options{ContextDir: "/c", Platforms: []string{"linux/amd64,linux/arm64"}})
	for _, ps := range [][]string{{"linux/amd64", "linux/arm64"}, {"linux/x86_64, linux/arm64/v8"}, {"linux/amd64,linux/aarch64,linux/amd64"}} {
		if got := explainTarget(Options{ContextDir: "/c", Platforms: ps}); got != want {
			t.Errorf("--platform %q: target %+v, want %+v", ps, got, want)
		}
	}
	if a, b := explainTarget(Options{ContextDir: "/c"}), explainTarget(Options{ContextDir: "/c", Platforms: []string{""}}); a != b {
		t.Errorf("--platform \"\" is another target than none: %+v, %+v", b, a)
	}
}

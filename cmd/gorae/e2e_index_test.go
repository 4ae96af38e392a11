package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/root"
)

// storeIndex stores, in a root at dir, an index of a linux/amd64 and a
// linux/arm64 image under name; with partial only the arm64 image is
// stored, as a pull of that platform leaves it. It returns the index's
// and the images' digests.
func storeIndex(t *testing.T, dir, name string, partial bool) (idx v1.Hash, amd, arm v1.Hash) {
	t.Helper()
	r, err := root.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ii v1.ImageIndex = empty.Index
	var imgs []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(1000, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf.OS, cf.Architecture = "linux", arch
		img, _ = mutate.ConfigFile(img, cf)
		imgs = append(imgs, img)
		ii = mutate.AppendManifests(ii, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	if partial {
		err = r.Images.ExportPlatform(t.Context(), ii, imgs[1], []string{name})
	} else {
		err = r.Images.ExportIndex(t.Context(), ii, []string{name})
	}
	if err != nil {
		t.Fatal(err)
	}
	idx, _ = ii.Digest()
	amd, _ = imgs[0].Digest()
	arm, _ = imgs[1].Digest()
	return idx, amd, arm
}

// TestIndexCommands: gorae images shows a multi-platform image's
// platforms; inspect shows its index and each stored image, or with
// --platform only that image; tag and rmi name and unname the index.
func TestIndexCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test (runs the gorae binary)")
	}
	g := &testutil.Gorae{Bin: goraeBin, Root: t.TempDir()}
	idx, amd, arm := storeIndex(t, g.Root, "multi", false)
	storeIndex(t, g.Root, "half", true)

	out := g.Must(t, ".", "images").Stdout
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "PLATFORMS") ||
		!strings.HasSuffix(lines[1], " linux/arm64") || !strings.HasPrefix(lines[1], "docker.io/library/half:latest ") ||
		!strings.HasSuffix(lines[2], " linux/amd64,linux/arm64") || !strings.Contains(lines[2], " "+idx.Hex[:12]+" ") {
		t.Errorf("gorae images:\n%s", out)
	}
	// The column starts at the same place on every line.
	if c := strings.Index(lines[0], "PLATFORMS"); c < 0 || lines[1][c-1] != ' ' || lines[1][c] != 'l' || lines[2][c] != 'l' {
		t.Errorf("PLATFORMS column not aligned:\n%s", out)
	}

	var insp struct {
		Digest string
		Index  v1.IndexManifest
		Images []struct{ Platform, Digest string }
		Absent []string
	}
	if err := json.Unmarshal([]byte(g.Must(t, ".", "inspect", "multi").Stdout), &insp); err != nil {
		t.Fatal(err)
	}
	if insp.Digest != idx.String() || len(insp.Index.Manifests) != 2 || fmt.Sprint(insp.Images) != fmt.Sprintf("[{linux/amd64 %s} {linux/arm64 %s}]", amd, arm) || insp.Absent != nil {
		t.Errorf("inspect multi: %+v", insp)
	}
	insp.Images, insp.Absent = nil, nil
	if err := json.Unmarshal([]byte(g.Must(t, ".", "inspect", "half").Stdout), &insp); err != nil {
		t.Fatal(err)
	}
	if len(insp.Images) != 1 || insp.Images[0].Platform != "linux/arm64" || fmt.Sprint(insp.Absent) != "[linux/amd64]" {
		t.Errorf("inspect half: %+v", insp)
	}
	var one struct {
		Digest string
		Config struct{ Architecture string }
	}
	if err := json.Unmarshal([]byte(g.Must(t, ".", "inspect", "--platform", "linux/aarch64", "multi").Stdout), &one); err != nil {
		t.Fatal(err)
	}
	if one.Digest != arm.String() || one.Config.Architecture != "arm64" {
		t.Errorf("inspect --platform linux/arm64 multi: %+v", one)
	}
	if r := g.Run(t, ".", "inspect", "--platform", "linux/amd64", "half"); r.Code != 1 || !strings.Contains(r.Stderr, "the linux/amd64 image of docker.io/library/half:latest is not in the local store") {
		t.Errorf("inspect --platform of an absent image: exit %d\n%s", r.Code, r.Stderr)
	}
	if r := g.Run(t, ".", "inspect", "--platform", "linux//amd64", "half"); r.Code != 2 || !strings.Contains(r.Stderr, `invalid --platform "linux//amd64"`) {
		t.Errorf("inspect with a bad --platform: exit %d\n%s", r.Code, r.Stderr)
	}

	g.Must(t, ".", "tag", "multi", "multi:2")
	g.Must(t, ".", "rmi", "multi")
	if out := g.Must(t, ".", "images").Stdout; strings.Contains(out, "multi:latest") || !strings.Contains(out, "multi:2") {
		t.Errorf("images after tag and rmi:\n%s", out)
	}
}

package exporter

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// platformFS is an image for p holding bin/app (saying which platform it
// is for), a hard link to it, and a file named for the platform.
func platformFS(t *testing.T, p v1.Platform, tag string) v1.Image {
	return onPlatform(t, imageOf(t, layerOf(t,
		ent{name: "bin/", typ: tar.TypeDir},
		ent{name: "bin/app", body: "app for " + tag, mode: 0o755},
		ent{name: "bin/app-" + tag, body: tag},
		ent{name: "hl", typ: tar.TypeLink, link: "bin/app"},
		ent{name: "ro/", typ: tar.TypeDir, mode: 0o555},
		ent{name: "ro/" + tag, body: tag},
	)), p)
}

func twoPlatforms(t *testing.T) v1.ImageIndex {
	return indexOf(t, types.OCIImageIndex, platformFS(t, amd64, "amd64"), platformFS(t, armv7, "arm"))
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLocalIndexSplitsByPlatform(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "out")
	if err := (Local{Dest: dest}).ExportIndex(t.Context(), twoPlatforms(t), nil); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, dest, "linux_amd64", "linux_arm_v7")
	for dir, tag := range map[string]string{"linux_amd64": "amd64", "linux_arm_v7": "arm"} {
		root := filepath.Join(dest, dir)
		onlyEntries(t, root, "bin", "hl", "ro")
		onlyEntries(t, filepath.Join(root, "bin"), "app", "app-"+tag)
		if got := readFile(t, filepath.Join(root, "bin/app")); got != "app for "+tag {
			t.Errorf("%s/bin/app = %q", dir, got)
		}
		a, _ := os.Stat(filepath.Join(root, "bin/app"))
		h, _ := os.Stat(filepath.Join(root, "hl"))
		if !os.SameFile(a, h) {
			t.Errorf("%s/hl is not a hard link to bin/app", dir)
		}
		if fi, err := os.Stat(root); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, mode %v; want 0755", dir, err, fi.Mode())
		}
		if fi, err := os.Stat(filepath.Join(root, "ro")); err != nil || fi.Mode().Perm() != 0o555 {
			t.Errorf("%s/ro: %v, mode %v; want 0555", dir, err, fi.Mode())
		}
	}
}

func TestTarIndexSplitsByPlatform(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := (Tar{Dest: dest}).ExportIndex(t.Context(), twoPlatforms(t), nil); err != nil {
		t.Fatal(err)
	}
	hs, bodies, order := readTar(t, dest)
	for dir, tag := range map[string]string{"linux_amd64": "amd64", "linux_arm_v7": "arm"} {
		if h := hs[dir+"/"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o755 || order[0] != "linux_amd64/" {
			t.Errorf("%s/ = %+v (first entry %s), want the first entry of its platform, a 0755 directory", dir, h, order[0])
		}
		if got := bodies[dir+"/bin/app"]; got != "app for "+tag {
			t.Errorf("%s/bin/app = %q", dir, got)
		}
		if h := hs[dir+"/hl"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != dir+"/bin/app" {
			t.Errorf("%s/hl = %+v, want a hard link to %s/bin/app", dir, h, dir)
		}
	}
	for n := range hs {
		if !strings.HasPrefix(n, "linux_amd64/") && !strings.HasPrefix(n, "linux_arm_v7/") {
			t.Errorf("entry %s outside the platform directories", n)
		}
	}
}

// platform-split=false merges the platforms into one directory; a file
// two platforms both have is refused, as BuildKit refuses it, and nothing
// is written.
func TestMergePlatforms(t *testing.T) {
	no := false
	parent := t.TempDir()
	for _, e := range []IndexExporter{
		Local{Dest: filepath.Join(parent, "out"), PlatformSplit: &no},
		Tar{Dest: filepath.Join(parent, "out.tar"), PlatformSplit: &no},
	} {
		err := e.ExportIndex(t.Context(), twoPlatforms(t), nil)
		want := "cannot overwrite /bin/app from linux/amd64 with linux/arm/v7 when platform-split=false: give the files of each platform their own names, or drop platform-split=false for one directory per platform"
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%T: error %v, want one ending %q", e, err, want)
		}
	}
	onlyEntries(t, parent)

	// Only directories in common: the files of both platforms side by side.
	idx := indexOf(t, types.OCIImageIndex,
		onPlatform(t, imageOf(t, layerOf(t, ent{name: "bin/", typ: tar.TypeDir}, ent{name: "bin/app-amd64", body: "x86"}, ent{name: "ro/", typ: tar.TypeDir, mode: 0o555}, ent{name: "ro/a", body: "a"})), amd64),
		onPlatform(t, imageOf(t, layerOf(t, ent{name: "bin/", typ: tar.TypeDir, mode: 0o700}, ent{name: "bin/app-arm64", body: "arm"}, ent{name: "ro/b", body: "b"})), arm64),
	)
	dest := filepath.Join(parent, "out")
	if err := (Local{Dest: dest, PlatformSplit: &no}).ExportIndex(t.Context(), idx, nil); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, dest, "bin", "ro")
	onlyEntries(t, filepath.Join(dest, "bin"), "app-amd64", "app-arm64")
	onlyEntries(t, filepath.Join(dest, "ro"), "a", "b")
	if got := readFile(t, filepath.Join(dest, "bin/app-arm64")); got != "arm" {
		t.Errorf("bin/app-arm64 = %q", got)
	}
	// The first platform's directory wins.
	if fi, err := os.Stat(filepath.Join(dest, "bin")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin: %v, mode %v; want amd64's 0755", err, fi.Mode())
	}
	tf := filepath.Join(parent, "out.tar")
	if err := (Tar{Dest: tf, PlatformSplit: &no}).ExportIndex(t.Context(), idx, nil); err != nil {
		t.Fatal(err)
	}
	hs, bodies, _ := readTar(t, tf) // fails on a directory written twice
	if bodies["bin/app-amd64"] != "x86" || bodies["bin/app-arm64"] != "arm" || bodies["ro/b"] != "b" || hs["bin/"].Mode != 0o755 {
		t.Errorf("merged tar: %v", bodies)
	}

	// A path that is a directory in one platform and a file in the other
	// cannot be merged either.
	idx = indexOf(t, types.OCIImageIndex,
		onPlatform(t, imageOf(t, layerOf(t, ent{name: "x/y", body: "y"})), amd64),
		onPlatform(t, imageOf(t, layerOf(t, ent{name: "x", body: "x"})), arm64),
	)
	err := Local{Dest: filepath.Join(parent, "dirfile"), PlatformSplit: &no}.ExportIndex(t.Context(), idx, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot overwrite /x from linux/amd64 with linux/arm64") {
		t.Errorf("directory and file merged: %v", err)
	}
}

// As in BuildKit, platform-split=true puts even a single platform's files
// in its platform directory; without it a single image stays at the root.
func TestSingleImagePlatformSplit(t *testing.T) {
	yes := true
	img := platformFS(t, arm64, "arm64")
	dest := filepath.Join(t.TempDir(), "out")
	if err := (Local{Dest: dest, PlatformSplit: &yes}).Export(t.Context(), img, nil); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, dest, "linux_arm64")
	if got := readFile(t, filepath.Join(dest, "linux_arm64/bin/app")); got != "app for arm64" {
		t.Errorf("bin/app = %q", got)
	}
	tf := filepath.Join(t.TempDir(), "out.tar")
	if err := (Tar{Dest: tf, PlatformSplit: &yes}).Export(t.Context(), img, nil); err != nil {
		t.Fatal(err)
	}
	if _, bodies, _ := readTar(t, tf); bodies["linux_arm64/bin/app"] != "app for arm64" {
		t.Errorf("tar: %v", bodies)
	}
	err := Local{Dest: filepath.Join(t.TempDir(), "x"), PlatformSplit: &yes}.Export(t.Context(), imageOf(t, layerOf(t, ent{name: "f"})), nil)
	if err == nil || !strings.Contains(err.Error(), "no os and architecture") {
		t.Errorf("no platform in the config: %v", err)
	}
}

func TestPlatformDir(t *testing.T) {
	for _, tt := range []struct {
		p    v1.Platform
		want string
	}{
		{amd64, "linux_amd64"}, {armv7, "linux_arm_v7"}, {arm64, "linux_arm64"},
		{v1.Platform{OS: "windows", OSVersion: "10.0.17763.1", Architecture: "amd64"}, "windows(10.0.17763.1)_amd64"},
	} {
		if got := platformDir(platformID(tt.p)); got != tt.want {
			t.Errorf("%v: %s, want %s", tt.p, got, tt.want)
		}
	}
}

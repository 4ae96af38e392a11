package sbom

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/gorae/gorae/archive"
)

// TestNoSymlinkEscape: links in an image mean paths in the image. With
// os.DirFS, which follows links wherever they point, Scan still reads
// only inside the tree: a relative link that climbs above the root stops
// there, an absolute one starts at the root, and directory links are
// never walked.
func TestNoSymlinkEscape(t *testing.T) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	file := func(name, data string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	file("outside/status", "Package: escaped\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n", 0o644)
	file("outside/os-release", "ID=host\nVERSION_ID=1\n", 0o644)
	file("outside/copyright", "License: Host-License\n", 0o644)
	file("root/outside/status", "Package: inside\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n", 0o644)
	file("root/usr/lib/os-release", "ID=debian\nVERSION_ID=12\n", 0o644)
	file("root/usr/share/doc/inside/copyright", "License: MIT\n", 0o644)

	link("../../../../outside/status", "var/lib/dpkg/status")        // climbs above the root
	link(filepath.Join(tmp, "outside/os-release"), "etc/os-release") // absolute: the image's own path
	link(filepath.Join(tmp, "outside"), "usr/share/doc/escaped")     // a directory outside
	link(filepath.Join(tmp, "outside"), "app")                       // never walked
	link("/usr/local/go/bin/go", "usr/local/bin/go")                 // the host's Go: not this image's
	link("loop", "var/lib/rpm")                                      // a loop is an error only for what needs it

	want := []Package{{
		Name: "inside", Version: "1", Type: "deb", Source: "/var/lib/dpkg/status", Arch: "amd64",
		PURL: "pkg:deb/debian/inside@1?arch=amd64&distro=debian-12", Licenses: []string{"MIT"},
	}}
	// /etc/os-release points at the host's path, which the image does not
	// have: /usr/lib/os-release is read instead.
	comparePackageLists(t, scanFS(t, os.DirFS(root)), want)

	// archive.RootFS (os.Root) refuses the links that leave the tree
	// instead of following them; Scan then reads them inside the tree.
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	comparePackageLists(t, scanFS(t, archive.RootFS{Root: r}), want)
}

// TestCanceled: Scan stops when its context is done.
func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	fsys := fstest.MapFS{"var/lib/dpkg/status": {Data: []byte(dpkgStatusFixture)}}
	if _, err := Scan(ctx, fsys); !errors.Is(err, context.Canceled) {
		t.Errorf("Scan with a canceled context: %v", err)
	}
}

func TestResolve(t *testing.T) {
	fsys := fstest.MapFS{
		"usr/lib/os-release": {Data: []byte("ID=debian\n")},
		"etc/os-release":     {Data: []byte("../usr/lib/os-release"), Mode: os.ModeSymlink},
		"lib":                {Data: []byte("usr/lib"), Mode: os.ModeSymlink},
		"abs":                {Data: []byte("/lib/os-release"), Mode: os.ModeSymlink},
		"up":                 {Data: []byte("../../../../usr/lib"), Mode: os.ModeSymlink},
		"a":                  {Data: []byte("b"), Mode: os.ModeSymlink},
		"b":                  {Data: []byte("a"), Mode: os.ModeSymlink},
		"file":               {Data: []byte("x")},
	}
	for in, want := range map[string]string{
		"etc/os-release":          "usr/lib/os-release",
		"lib/os-release":          "usr/lib/os-release",
		"abs":                     "usr/lib/os-release",
		"up/os-release":           "usr/lib/os-release",
		"usr/../lib/./os-release": "usr/lib/os-release",
	} {
		if got, err := resolve(fsys, in); err != nil || got != want {
			t.Errorf("resolve(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"a", "file/x", "missing/x"} {
		if got, err := resolve(fsys, in); err == nil {
			t.Errorf("resolve(%q) = %q, want an error", in, got)
		}
	}
}

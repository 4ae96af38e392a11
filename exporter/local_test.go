package exporter

import (
	"archive/tar"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// fsImage has two layers exercising whiteouts, opaque directories,
// replaced hard-link targets, an escaping name, and a directory replaced
// by a file.
func fsImage(t *testing.T) v1.Image {
	return imageOf(t,
		layerOf(t,
			ent{name: "etc/", typ: tar.TypeDir},
			ent{name: "etc/a", body: "old-a", mode: 0o640, uid: 1000},
			ent{name: "etc/b", body: "b"},
			ent{name: "etc/c", body: "c", mode: 0o600},
			ent{name: "d/", typ: tar.TypeDir},
			ent{name: "d/x", body: "x"},
			ent{name: "bin/", typ: tar.TypeDir},
			ent{name: "bin/tool", body: "#!", mode: 0o4755},
			ent{name: "link", typ: tar.TypeSymlink, link: "etc/c"},
			ent{name: "hl", typ: tar.TypeLink, link: "etc/a"},
			ent{name: "hl2", typ: tar.TypeLink, link: "/etc/a"},
			ent{name: "hc", typ: tar.TypeLink, link: "etc/c"},
			ent{name: "../../escape", body: "bad"},
			ent{name: "fifo", typ: tar.TypeFifo},
			ent{name: "ro/", typ: tar.TypeDir, mode: 0o555},
			ent{name: "ro/f", body: "f"},
			ent{name: "dirfile/", typ: tar.TypeDir},
			ent{name: "dirfile/z", body: "z"},
		),
		layerOf(t,
			ent{name: "etc/.wh.b"},
			ent{name: "d/.wh..wh..opq"},
			ent{name: "d/y", body: "y"},
			ent{name: "etc/a", body: "new-a"},
			ent{name: "dirfile", body: "now a file"},
			ent{name: "implicit/deep/f", body: "deep"},
		),
	)
}

func TestLocal(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "rootfs")
	if err := (Local{Dest: dest}).Export(t.Context(), fsImage(t), nil); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, parent, "rootfs")
	onlyEntries(t, dest, "bin", "d", "dirfile", "escape", "etc", "fifo", "hc", "hl", "hl2", "implicit", "link", "ro")
	onlyEntries(t, filepath.Join(dest, "etc"), "a", "c")
	onlyEntries(t, filepath.Join(dest, "d"), "y")
	for p, want := range map[string]string{
		"etc/a": "new-a", "etc/c": "c", "d/y": "y", "hl": "old-a", "hl2": "old-a",
		"hc": "c", "escape": "bad", "ro/f": "f", "dirfile": "now a file", "implicit/deep/f": "deep",
	} {
		b, err := os.ReadFile(filepath.Join(dest, p))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	modes := map[string]fs.FileMode{
		"etc/c":    0o600,
		"bin/tool": 0o755 | fs.ModeSetuid,
		"hl":       0o640,
		"ro":       fs.ModeDir | 0o555,
		"fifo":     fs.ModeNamedPipe | 0o644,
		"link":     fs.ModeSymlink | 0o777,
		"implicit": fs.ModeDir | 0o755,
	}
	for p, want := range modes {
		fi, err := os.Lstat(filepath.Join(dest, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if fi.Mode() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode(), want)
		}
	}
	if target, err := os.Readlink(filepath.Join(dest, "link")); err != nil || target != "etc/c" {
		t.Errorf("link -> %q, %v", target, err)
	}
	same := func(a, b string) bool {
		fa, err1 := os.Stat(filepath.Join(dest, a))
		fb, err2 := os.Stat(filepath.Join(dest, b))
		return err1 == nil && err2 == nil && os.SameFile(fa, fb)
	}
	if !same("hc", "etc/c") || !same("hl", "hl2") || same("hl", "etc/a") {
		t.Error("hard links: want hc=etc/c, hl=hl2, hl!=etc/a")
	}
	if os.Geteuid() == 0 {
		fi, _ := os.Stat(filepath.Join(dest, "hl"))
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1000 {
			t.Errorf("hl owned by %d:%d, want 1000:1000", st.Uid, st.Gid)
		}
	}
}

func TestTar(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "rootfs.tar")
	if err := (Tar{Dest: dest}).Export(t.Context(), fsImage(t), nil); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, parent, "rootfs.tar")
	hs, bodies, order := readTar(t, dest)
	for _, gone := range []string{"etc/b", "d/x", "dirfile/", "dirfile/z", "../../escape", "etc/.wh.b", "d/.wh..wh..opq"} {
		if _, ok := hs[gone]; ok {
			t.Errorf("%s in tar", gone)
		}
	}
	for p, want := range map[string]string{"etc/a": "new-a", "hl": "old-a", "escape": "bad", "dirfile": "now a file", "implicit/deep/f": "deep"} {
		if h, ok := hs[p]; !ok || h.Typeflag != tar.TypeReg || bodies[p] != want {
			t.Errorf("%s = %q (present %v), want regular file %q", p, bodies[p], ok, want)
		}
	}
	if h := hs["hl"]; h != nil && (h.Uid != 1000 || h.Mode != 0o640) {
		t.Errorf("hl uid %d mode %o, want 1000 0640", h.Uid, h.Mode)
	}
	for link, target := range map[string]string{"hc": "etc/c", "hl2": "hl"} {
		h := hs[link]
		if h == nil || h.Typeflag != tar.TypeLink || h.Linkname != target {
			t.Errorf("%s = %+v, want hard link to %s", link, h, target)
		}
	}
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	if pos["hc"] < pos["etc/c"] || pos["hl2"] < pos["hl"] {
		t.Errorf("hard link written before its target: %v", order)
	}
	for _, d := range []string{"implicit/", "implicit/deep/", "ro/"} {
		if h := hs[d]; h == nil || h.Typeflag != tar.TypeDir {
			t.Errorf("%s missing or not a directory", d)
		}
	}
	if h := hs["bin/tool"]; h == nil || h.Mode != 0o4755 {
		t.Errorf("bin/tool = %+v, want mode 04755", h)
	}
	if h := hs["fifo"]; h == nil || h.Typeflag != tar.TypeFifo {
		t.Errorf("fifo = %+v", h)
	}
}

// TestLocalRefusesWorkingDir guards against replacing the user's own tree
// with "-o .".
func TestLocalRefusesWorkingDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("keep", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Local{Dest: "."}.Export(t.Context(), fsImage(t), nil)
	if err == nil {
		t.Fatal("no error exporting over the working directory")
	}
	onlyEntries(t, dir, "keep")
}

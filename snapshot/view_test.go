package snapshot

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("overlay whiteouts (mknod) and opaque markers (trusted xattrs) need root")
	}
}

// layerDir builds one overlay-format directory from a spec: "name" -> "f:content",
// "d", "l:target", "w" (whiteout) or "o" (opaque directory).
func layerDir(t *testing.T, spec map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range spec {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		v := spec[name]
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch v[0] {
		case 'f':
			err = os.WriteFile(p, []byte(v[2:]), 0o644)
		case 'd':
			err = os.Mkdir(p, 0o755)
		case 'o':
			if err = os.Mkdir(p, 0o755); err == nil {
				err = unix.Setxattr(p, archive.OverlayOpaqueXattr(), []byte("y"), 0)
			}
		case 'l':
			err = os.Symlink(v[2:], p)
		case 'w':
			err = unix.Mknod(p, unix.S_IFCHR, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readAll(t *testing.T, v *View, name string) string {
	t.Helper()
	f, err := v.Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func names(ents []fs.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func threeLayers(t *testing.T) *View {
	l0 := layerDir(t, map[string]string{
		"etc/passwd": "f:root0", "etc/group": "f:g0",
		"usr/lib/a": "f:a0", "usr/lib/b": "f:b0", "usr/bin/sh": "f:sh0",
		"opt/x": "f:x0", "bin": "l:usr/bin", "data/old": "f:old",
	})
	l1 := layerDir(t, map[string]string{
		"etc/passwd": "f:root1", "usr/lib/b": "w", "opt": "o", "opt/y": "f:y1",
		"abs": "l:/usr/lib", "esc": "l:../../../../etc", "loop": "l:loop",
		"etc/group": "w",
	})
	l2 := layerDir(t, map[string]string{
		"usr/lib/c": "f:c2", "data": "f:now a file", "usr/bin/new": "f:new2",
		"etc/group": "f:g2",
	})
	if err := os.Lchown(filepath.Join(l1, "etc/passwd"), 1000, 1001); err != nil {
		t.Fatal(err)
	}
	return NewView([]string{l0, l1, l2})
}

func TestViewMerge(t *testing.T) {
	needRoot(t)
	v := threeLayers(t)
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{".", []string{"abs", "bin", "data", "esc", "etc", "loop", "opt", "usr"}},
		{"usr/lib", []string{"a", "c"}}, // b whited out in the middle layer
		{"opt", []string{"y"}},          // opaque hides x
		{"bin", []string{"new", "sh"}},  // follows the symlink, merges
		{"etc", []string{"group", "passwd"}},
	} {
		ents, err := v.ReadDir(tc.dir)
		if err != nil {
			t.Fatalf("ReadDir(%s): %v", tc.dir, err)
		}
		if got := names(ents); !slices.Equal(got, tc.want) {
			t.Errorf("ReadDir(%s) = %v, want %v", tc.dir, got, tc.want)
		}
	}
	for name, want := range map[string]string{
		"etc/passwd": "root1", // upper hides lower
		"etc/group":  "g2",    // re-created above its whiteout
		"bin/sh":     "sh0",   // intermediate symlink
		"bin/new":    "new2",  // merged through the symlink
		"abs/a":      "a0",    // absolute target from the view root
		"esc/passwd": "root1", // ".." stops at the view root
		"data":       "now a file",
	} {
		if got := readAll(t, v, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	fi, err := v.Lstat("etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid := archive.Owner(fi); uid != 1000 || gid != 1001 {
		t.Errorf("etc/passwd owner %d:%d, want 1000:1001 from the winning layer", uid, gid)
	}
	if fi, err := v.Lstat("bin"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat(bin) = %v, %v; want a symlink", fi, err)
	}
	if fi, err := v.Stat("bin"); err != nil || !fi.IsDir() || fi.Name() != "bin" {
		t.Errorf("Stat(bin) = %v, %v; want directory named bin", fi, err)
	}
	if target, err := v.Readlink("abs"); err != nil || target != "/usr/lib" {
		t.Errorf("Readlink(abs) = %q, %v", target, err)
	}
	for name, want := range map[string]error{
		"usr/lib/b": fs.ErrNotExist,  // whiteout
		"abs/b":     fs.ErrNotExist,  // whiteout, through a symlink
		"opt/x":     fs.ErrNotExist,  // below an opaque dir
		"data/old":  syscall.ENOTDIR, // a file above hides the directory
		"loop/x":    syscall.ELOOP,
		"../etc":    fs.ErrInvalid,
	} {
		if _, err := v.Lstat(name); !errors.Is(err, want) {
			t.Errorf("Lstat(%s) = %v, want %v", name, err, want)
		}
	}
	if _, err := v.Stat("loop"); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("Stat(loop) = %v, want ELOOP", err)
	}
	d, err := v.Open("usr/lib")
	if err != nil {
		t.Fatal(err)
	}
	ents, err := d.(fs.ReadDirFile).ReadDir(-1)
	if err != nil || !slices.Equal(names(ents), []string{"a", "c"}) {
		t.Errorf("Open(usr/lib).ReadDir = %v, %v", names(ents), err)
	}
}

func TestViewEmpty(t *testing.T) {
	v := NewView(nil)
	fi, err := v.Lstat(".")
	if err != nil || !fi.IsDir() {
		t.Fatalf("Lstat(.) = %v, %v", fi, err)
	}
	if ents, err := v.ReadDir("."); err != nil || len(ents) != 0 {
		t.Errorf("ReadDir(.) = %v, %v", ents, err)
	}
	if _, err := v.Lstat("etc"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lstat(etc) = %v", err)
	}
}

// TestViewXWhiteouts: an empty file with user.overlay.whiteout in a
// directory marked user.overlay.opaque="x" hides the name below it, as
// overlayfs's xattr whiteouts do; in an unmarked directory it is a file.
func TestViewXWhiteouts(t *testing.T) {
	lower, upper := t.TempDir(), t.TempDir()
	for _, d := range []string{lower, upper} {
		os.MkdirAll(filepath.Join(d, "etc"), 0o755)
		os.MkdirAll(filepath.Join(d, "keep"), 0o755)
	}
	os.WriteFile(filepath.Join(lower, "etc", "group"), []byte("g"), 0o644)
	os.WriteFile(filepath.Join(lower, "keep", "x"), []byte("x"), 0o644)
	for _, p := range []string{"etc/group", "keep/x"} {
		os.WriteFile(filepath.Join(upper, p), nil, 0o600)
		if err := unix.Setxattr(filepath.Join(upper, p), archive.XWhiteoutXattr, []byte("y"), 0); err != nil {
			t.Skipf("user xattrs: %v", err)
		}
	}
	if err := unix.Setxattr(filepath.Join(upper, "etc"), "user.overlay.opaque", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	v := NewView([]string{lower, upper})
	if _, err := v.Lstat("etc/group"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lstat of an xattr whiteout: %v", err)
	}
	if ents, _ := v.ReadDir("etc"); len(ents) != 0 {
		t.Errorf("etc lists %v", ents)
	}
	if fi, err := v.Lstat("keep/x"); err != nil || fi.Size() != 0 {
		t.Errorf("keep/x (no opaque=x on its directory): %v, %v", fi, err)
	}
	if ents, _ := v.ReadDir("keep"); len(ents) != 1 {
		t.Errorf("keep lists %v", ents)
	}
}

package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("Apply restores owners, devices and trusted xattrs: needs root")
	}
}

// layerTar builds an uncompressed tar from headers; regular files get
// their content from bodies.
func layerTar(t *testing.T, entries []*tar.Header, bodies map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(bodies[h.Name]))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(bodies[h.Name])); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func lstat(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func xattr(t *testing.T, p, key string) string {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, key, buf)
	if err != nil {
		t.Fatalf("getxattr %s %s: %v", p, key, err)
	}
	return string(buf[:n])
}

func TestApplyTree(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	mt := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	dmt := time.Date(2019, 6, 7, 8, 9, 10, 0, time.UTC)
	entries := []*tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 5, Gid: 6, ModTime: dmt},
		{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: mt,
			PAXRecords: map[string]string{"SCHILY.xattr.user.note": "hi", "SCHILY.xattr.trusted.overlay.opaque": "y"}},
		{Name: "bin/su", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 1000, Gid: 1000, ModTime: mt},
		{Name: "bin/su2", Typeflag: tar.TypeLink, Linkname: "bin/su"},
		{Name: "etc/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow", Uid: 7, Gid: 8, ModTime: mt},
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
		{Name: "dev/sda", Typeflag: tar.TypeBlock, Mode: 0o660, Devmajor: 8, Devminor: 0},
		{Name: "run/fifo", Typeflag: tar.TypeFifo, Mode: 0o600},
		{Name: "usr/.wh.gone", Typeflag: tar.TypeReg, Mode: 0o600},
		{Name: "var/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "var/.wh..wh..opq", Typeflag: tar.TypeReg, Mode: 0o600},
	}
	bodies := map[string]string{"etc/passwd": "root:x:0:0::/root:/bin/sh\n", "bin/su": "ELF"}
	n, err := Apply(t.Context(), dir, bytes.NewReader(layerTar(t, entries, bodies)))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(bodies["etc/passwd"]) + len(bodies["bin/su"])); n != want {
		t.Errorf("written = %d, want %d", n, want)
	}
	p := func(s string) string { return filepath.Join(dir, s) }

	if b, err := os.ReadFile(p("etc/passwd")); err != nil || string(b) != bodies["etc/passwd"] {
		t.Errorf("etc/passwd = %q, %v", b, err)
	}
	st := lstat(t, p("etc"))
	if st.Mode&0o7777 != 0o750 || st.Uid != 5 || st.Gid != 6 {
		t.Errorf("etc: mode %o owner %d:%d", st.Mode&0o7777, st.Uid, st.Gid)
	}
	if fi, _ := os.Lstat(p("etc")); !fi.ModTime().Equal(dmt) {
		t.Errorf("etc mtime %v, want %v (set after its children)", fi.ModTime(), dmt)
	}
	if fi, _ := os.Lstat(p("etc/passwd")); !fi.ModTime().Equal(mt) {
		t.Errorf("etc/passwd mtime %v, want %v", fi.ModTime(), mt)
	}
	if got := xattr(t, p("etc/passwd"), "user.note"); got != "hi" {
		t.Errorf("xattr user.note = %q", got)
	}
	if _, err := unix.Lgetxattr(p("etc/passwd"), OverlayOpaqueXattr(), make([]byte, 8)); !errors.Is(err, unix.ENODATA) {
		t.Errorf("trusted.overlay xattr from the tar was applied: %v", err)
	}
	su := lstat(t, p("bin/su"))
	if su.Mode&0o7777 != 0o4755 || su.Uid != 1000 || su.Gid != 1000 {
		t.Errorf("bin/su: mode %o owner %d:%d (setuid must survive chown)", su.Mode&0o7777, su.Uid, su.Gid)
	}
	if su2 := lstat(t, p("bin/su2")); su2.Ino != su.Ino || su.Nlink != 2 {
		t.Errorf("bin/su2 is not a hard link of bin/su")
	}
	if target, err := os.Readlink(p("etc/link")); err != nil || target != "/etc/shadow" {
		t.Errorf("etc/link -> %q, %v", target, err)
	}
	if st := lstat(t, p("etc/link")); st.Uid != 7 || st.Gid != 8 {
		t.Errorf("symlink owner %d:%d, want 7:8", st.Uid, st.Gid)
	}
	if st := lstat(t, p("dev/null")); st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) || st.Mode&0o777 != 0o666 {
		t.Errorf("dev/null: mode %o rdev %x", st.Mode, st.Rdev)
	}
	if st := lstat(t, p("dev/sda")); st.Mode&unix.S_IFMT != unix.S_IFBLK || st.Rdev != unix.Mkdev(8, 0) {
		t.Errorf("dev/sda: mode %o rdev %x", st.Mode, st.Rdev)
	}
	if st := lstat(t, p("run/fifo")); st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("run/fifo: mode %o", st.Mode)
	}
	wh := lstat(t, p("usr/gone"))
	if wh.Mode&unix.S_IFMT != unix.S_IFCHR || wh.Rdev != 0 || wh.Uid != 0 {
		t.Errorf("usr/gone whiteout: mode %o rdev %x uid %d", wh.Mode, wh.Rdev, wh.Uid)
	}
	if _, err := os.Lstat(p("usr/.wh.gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the .wh. entry itself was written: %v", err)
	}
	if got := xattr(t, p("var"), OverlayOpaqueXattr()); got != "y" {
		t.Errorf("var opaque xattr = %q", got)
	}
	if _, err := os.Lstat(p("var/.wh..wh..opq")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the opaque marker itself was written: %v", err)
	}
}

func TestApplyRefusesEscapes(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name    string
		entries []*tar.Header
		bad     string // entry the error must name
	}{
		{"dotdot", []*tar.Header{{Name: "../x", Typeflag: tar.TypeReg, Mode: 0o644}}, "../x"},
		{"dotdot inside", []*tar.Header{{Name: "a/../../x", Typeflag: tar.TypeReg, Mode: 0o644}}, "a/../../x"},
		{"through symlink out", []*tar.Header{
			{Name: "dir", Typeflag: tar.TypeSymlink, Linkname: "OUTSIDE"},
			{Name: "dir/file", Typeflag: tar.TypeReg, Mode: 0o644},
		}, "dir/file"},
		{"through symlink in", []*tar.Header{
			{Name: "real/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "dir", Typeflag: tar.TypeSymlink, Linkname: "real"},
			{Name: "dir/file", Typeflag: tar.TypeReg, Mode: 0o644},
		}, "dir/file"},
		{"hardlink out", []*tar.Header{{Name: "l", Typeflag: tar.TypeLink, Linkname: "../secret"}}, "l"},
		{"hardlink through symlink", []*tar.Header{
			{Name: "dir", Typeflag: tar.TypeSymlink, Linkname: "OUTSIDE"},
			{Name: "l", Typeflag: tar.TypeLink, Linkname: "dir/secret"},
		}, "l"},
		{"hardlink through in-layer symlink", []*tar.Header{
			{Name: "real/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "real/f", Typeflag: tar.TypeReg, Mode: 0o644},
			{Name: "dir", Typeflag: tar.TypeSymlink, Linkname: "real"},
			{Name: "l", Typeflag: tar.TypeLink, Linkname: "dir/f"},
		}, "l"},
		{"whiteout through symlink", []*tar.Header{
			{Name: "dir", Typeflag: tar.TypeSymlink, Linkname: "OUTSIDE"},
			{Name: "dir/.wh.secret", Typeflag: tar.TypeReg, Mode: 0o644},
		}, "dir/.wh.secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			dir := filepath.Join(base, "layer")
			for _, d := range []string{outside, dir} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.entries {
				h.Linkname = strings.ReplaceAll(h.Linkname, "OUTSIDE", outside)
			}
			_, err := Apply(t.Context(), dir, bytes.NewReader(layerTar(t, tc.entries, nil)))
			if err == nil || !strings.Contains(err.Error(), `"`+tc.bad+`"`) {
				t.Fatalf("Apply = %v, want an error naming %q", err, tc.bad)
			}
			ents, _ := os.ReadDir(outside)
			if len(ents) != 1 || ents[0].Name() != "secret" {
				t.Errorf("outside directory changed: %v", ents)
			}
			if _, err := os.Lstat(filepath.Join(base, "x")); err == nil {
				t.Error("wrote beside the layer directory")
			}
			if _, err := os.Lstat(filepath.Join(dir, "real", "file")); err == nil {
				t.Error("wrote through an in-layer symlink")
			}
		})
	}
}

func TestApplyReplacesAndCancels(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	entries := []*tar.Header{
		{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "a/child", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "b"},
	}
	if _, err := Apply(t.Context(), dir, bytes.NewReader(layerTar(t, entries, nil))); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "a")); err != nil || target != "b" {
		t.Errorf("later entry did not replace directory: %q, %v", target, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Apply(ctx, t.TempDir(), bytes.NewReader(layerTar(t, entries, nil)))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Apply with cancelled ctx = %v", err)
	}
}

// TestApplyReplacedParent: a directory replaced by a fifo after its
// children were written must not hang Apply (opening the fifo as the
// parent of a child whose time is restored would block forever).
func TestApplyReplacedParent(t *testing.T) {
	needRoot(t)
	layer := layerTar(t, []*tar.Header{
		{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "a/b/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "a", Typeflag: tar.TypeFifo, Mode: 0o644},
		{Name: "c/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "c/d/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "c", Typeflag: tar.TypeSymlink, Linkname: "a"},
	}, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	dir := t.TempDir()
	go func() {
		_, err := Apply(ctx, dir, bytes.NewReader(layer))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Apply hangs on a directory replaced by a fifo")
	}
	if fi, err := os.Lstat(filepath.Join(dir, "a")); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("a: %v, %v; want the fifo", fi, err)
	}
}

package longpath

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// deepDir makes a directory whose path is longer than PATH_MAX below a
// temporary directory, through os.Root (which walks it a component at a
// time), and returns its absolute path.
func deepDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	var parts []string
	for i := 0; len(strings.Join(parts, "/")) < 4300; i++ {
		parts = append(parts, strings.Repeat(string(rune('a'+i%26)), 250))
	}
	rel := strings.Join(parts, "/")
	r, err := os.OpenRoot(base)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.MkdirAll(rel, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(base, rel)
}

func TestLongPathCalls(t *testing.T) {
	dir := deepDir(t)
	if _, err := os.Lstat(dir); !errors.Is(err, syscall.ENAMETOOLONG) {
		t.Fatalf("the test needs a path the kernel refuses; os.Lstat gave %v", err)
	}
	file := filepath.Join(dir, "file")
	f, err := OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != file {
		t.Errorf("Name() = %q…, want the long path", f.Name()[:40])
	}
	if _, err := f.WriteString("deep content"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := Symlink("file", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Mknod(filepath.Join(dir, "fifo"), unix.S_IFIFO|0o600, 0); err != nil {
		t.Fatal(err)
	}
	if err := Lchown(file, 123, 456); err != nil {
		t.Fatal(err)
	}
	if err := Chmod(file, 0o4755); err != nil {
		t.Fatal(err)
	}
	ts := unix.NsecToTimespec(1_000_000_000_123)
	if err := UtimesNano(file, []unix.Timespec{ts, ts}); err != nil {
		t.Fatal(err)
	}
	fi, err := Lstat(file)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Name() != "file" || fi.Mode() != fs.ModeSetuid|0o755 || st.Uid != 123 || st.Gid != 456 || fi.ModTime().UnixNano() != 1_000_000_000_123 {
		t.Errorf("Lstat = %s %v %d:%d %v", fi.Name(), fi.Mode(), st.Uid, st.Gid, fi.ModTime())
	}
	if target, err := Readlink(filepath.Join(dir, "link")); err != nil || target != "file" {
		t.Errorf("Readlink = %q, %v", target, err)
	}
	ents, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			t.Fatalf("Info of %s: %v", e.Name(), err)
		}
		got = append(got, e.Name()+":"+info.Mode().Type().String())
	}
	if strings.Join(got, " ") != "fifo:p--------- file:---------- link:L--------- sub:d---------" {
		t.Errorf("ReadDir = %v", got)
	}
	r, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "deep content" {
		t.Errorf("content = %q", b)
	}
	fd, err := OpenFD(file, unix.O_RDONLY|unix.O_NOFOLLOW)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := unix.Read(fd, buf)
	unix.Close(fd)
	if err != nil || string(buf[:n]) != "deep content" {
		t.Errorf("OpenFD content = %q, %v", buf[:n], err)
	}
	if fd, err := OpenFD(filepath.Join(dir, "link"), unix.O_RDONLY|unix.O_NOFOLLOW); !errors.Is(err, unix.ELOOP) {
		unix.Close(fd)
		t.Errorf("OpenFD(link, O_NOFOLLOW) = %v, want ELOOP", err)
	}
	if err := Lsetxattr(file, "user.k", []byte("v"), 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
		t.Fatal(err)
	} else if err == nil {
		buf := make([]byte, 16)
		if n, err := Lgetxattr(file, "user.k", buf); err != nil || string(buf[:n]) != "v" {
			t.Errorf("Lgetxattr = %q, %v", buf[:n], err)
		}
		if n, err := Llistxattr(file, buf); err != nil || !strings.Contains(string(buf[:n]), "user.k") {
			t.Errorf("Llistxattr = %q, %v", buf[:n], err)
		}
	}
}

func TestLongPathErrorsNameThePath(t *testing.T) {
	dir := deepDir(t)
	missing := filepath.Join(dir, "missing")
	_, err := Lstat(missing)
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != missing || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lstat(missing) = %v", err)
	}
	if strings.Contains(err.Error(), "/proc/self/fd") {
		t.Errorf("error names the /proc path: %.200s", err)
	}
	// A missing directory on the way fails the prefix open.
	_, err = ReadDir(filepath.Join(dir[:len(dir)-10], "nothere", strings.Repeat("x", 200), "y"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDir below a missing prefix = %v", err)
	}
	if _, err := OpenFD(missing, unix.O_RDONLY); !errors.As(err, &pe) || pe.Path != missing || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenFD(missing) = %v", err)
	}
	if _, err := Lgetxattr(missing, "user.k", nil); err != unix.ENOENT {
		t.Errorf("Lgetxattr(missing) = %v, want the bare ENOENT", err)
	}
}

func TestShorten(t *testing.T) {
	if got := Shorten("/a/b"); got != "/a/b" {
		t.Errorf("Shorten(short) = %q", got)
	}
	long := "/" + strings.Repeat("d/", 2500) + "end.txt"
	got := Shorten(long)
	if len(got) > 220 || !strings.HasPrefix(got, "/d/d/") || !strings.HasSuffix(got, "/end.txt") || !strings.Contains(got, "bytes]") {
		t.Errorf("Shorten(long) = %q", got)
	}
}

package archive

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// ReadDirInfo must describe every entry exactly as os.Lstat does, sorted
// by name, without following symlinks.
func TestReadDirInfoMatchesLstat(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "b.txt"), []byte("hello"), 0o640))
	must(os.WriteFile(filepath.Join(dir, "suid"), nil, 0o755))
	must(os.Chmod(filepath.Join(dir, "suid"), 0o4755|fs.ModeSetuid))
	must(os.Mkdir(filepath.Join(dir, "a-dir"), 0o1777))
	must(os.Chmod(filepath.Join(dir, "a-dir"), 0o777|fs.ModeSticky))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "link")))
	must(syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	must(os.Lchown(filepath.Join(dir, "b.txt"), 1234, 5678))

	root, err := os.OpenRoot(dir)
	must(err)
	defer root.Close()
	infos, err := RootFS{Root: root}.ReadDirInfo(".")
	must(err)
	var names []string
	for _, fi := range infos {
		names = append(names, fi.Name())
		want, err := os.Lstat(filepath.Join(dir, fi.Name()))
		must(err)
		if fi.Mode() != want.Mode() || fi.Size() != want.Size() || !fi.ModTime().Equal(want.ModTime()) || fi.IsDir() != want.IsDir() {
			t.Errorf("%s: mode %v size %d mtime %v, Lstat says %v %d %v", fi.Name(), fi.Mode(), fi.Size(), fi.ModTime(), want.Mode(), want.Size(), want.ModTime())
		}
		got, ws := fi.Sys().(*syscall.Stat_t), want.Sys().(*syscall.Stat_t)
		if got.Ino != ws.Ino || got.Uid != ws.Uid || got.Gid != ws.Gid || got.Ctim != ws.Ctim {
			t.Errorf("%s: stat %+v, Lstat says %+v", fi.Name(), got, ws)
		}
	}
	if want := []string{"a-dir", "b.txt", "fifo", "link", "suid"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if uid, gid := Owner(infos[1]); uid != 1234 || gid != 5678 {
		t.Errorf("owner of b.txt %d:%d, want 1234:5678", uid, gid)
	}
	if _, err := (RootFS{Root: root}).ReadDirInfo("link"); err == nil {
		t.Error("ReadDirInfo followed a symlink out of the root")
	}
}

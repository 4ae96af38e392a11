package archive

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestDirsOpen: a RootFS with Dirs opens what one without opens, with the
// same name and content, and refuses what it refuses: a symlink leading
// out of its directory but not out of the root is followed, one leading
// out of the root is not, and nothing changes once Dirs is closed.
func TestDirsOpen(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "ctx")
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{"a/b/f": "deep", "c/g": "other", "top": "top"}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(top, "secret"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink("../../c/g", filepath.Join(dir, "a/b/up"))
	os.Symlink("../../secret", filepath.Join(dir, "c/out"))
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	plain := RootFS{Root: root}
	cached := RootFS{Root: root, Dirs: NewDirs()}
	read := func(fsys RootFS, name string) (string, string, error) {
		f, err := fsys.Open(name)
		if err != nil {
			return "", "", err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		return string(b), f.(*os.File).Name(), err
	}
	for pass, closed := range []bool{false, true} {
		if closed {
			cached.Dirs.Close()
		}
		for _, name := range []string{"a/b/f", "c/g", "top", "a/b/up", "c/out", "a/b/none"} {
			wc, wn, werr := read(plain, name)
			gc, gn, gerr := read(cached, name)
			if gc != wc || gn != wn || (gerr == nil) != (werr == nil) {
				t.Errorf("pass %d: open %s with Dirs = %q %q %v, without %q %q %v", pass, name, gc, gn, gerr, wc, wn, werr)
			}
			if gerr != nil && gerr.Error() != werr.Error() {
				t.Errorf("pass %d: open %s: error %q, want %q", pass, name, gerr, werr)
			}
		}
	}
	if c, _, err := read(cached, "c/out"); err == nil {
		t.Errorf("a symlink out of the root opened: %q", c)
	}
}

// TestDirsManyConcurrent: more directories than Dirs keeps, opened from
// several goroutines at once, all read right (run with -race).
func TestDirsManyConcurrent(t *testing.T) {
	dir := t.TempDir()
	n := maxDirs * 3
	for i := range n {
		d := filepath.Join(dir, fmt.Sprint("d", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "f"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	fsys := RootFS{Root: root, Dirs: NewDirs()}
	defer fsys.Dirs.Close()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for k := range n * 2 {
				i := (k*7 + w*13) % n
				f, err := fsys.Open(fmt.Sprint("d", i, "/f"))
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(f)
				f.Close()
				if err != nil || string(b) != fmt.Sprint(i) {
					t.Errorf("d%d/f = %q, %v", i, b, err)
				}
			}
		})
	}
	wg.Wait()
	if len(fsys.Dirs.open) > maxDirs {
		t.Errorf("%d directories kept open, at most %d", len(fsys.Dirs.open), maxDirs)
	}
}

// TestDirsKeepsAndRenews: opening a file keeps its directory open, later
// opens in it use that handle, and a handle older than dirsTTL is
// replaced, so a directory replaced meanwhile is read at its new place.
func TestDirsKeepsAndRenews(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/b/f", "old")
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	now := time.Unix(1000, 0)
	dirsNow = func() time.Time { return now }
	t.Cleanup(func() { dirsNow = time.Now })
	fsys := RootFS{Root: root, Dirs: NewDirs()}
	defer fsys.Dirs.Close()
	read := func() string {
		t.Helper()
		f, err := fsys.Open("a/b/f")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		return string(b)
	}
	if got := read(); got != "old" {
		t.Fatalf("a/b/f = %q", got)
	}
	first := fsys.Dirs.open["a/b"]
	if first.root == nil || len(fsys.Dirs.open) != 1 {
		t.Fatalf("directories kept open: %v, want a/b", fsys.Dirs.open)
	}
	read()
	if fsys.Dirs.open["a/b"] != first {
		t.Error("a second open in a/b did not use the handle kept")
	}
	// a/b is replaced by a new directory; once the handle is old enough,
	// the new one is read.
	if err := os.Rename(filepath.Join(dir, "a/b"), filepath.Join(dir, "gone")); err != nil {
		t.Fatal(err)
	}
	write("a/b/f", "new")
	now = now.Add(dirsTTL)
	if got := read(); got != "new" {
		t.Errorf("after %v, a/b/f = %q, want the new directory's", dirsTTL, got)
	}
	if fsys.Dirs.open["a/b"] == first {
		t.Error("the old handle was kept past dirsTTL")
	}
}

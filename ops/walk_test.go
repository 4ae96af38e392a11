package ops

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gorae/gorae/archive"
)

// deniedFS answers EACCES for ReadDir of the names in denied.
type deniedFS struct {
	archive.FS
	denied map[string]bool
}

func (d deniedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if d.denied[name] {
		return nil, &fs.PathError{Op: "openat", Path: name, Err: syscall.EACCES}
	}
	return d.FS.ReadDir(name)
}

func contextDir(t *testing.T) (string, archive.FS) {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"a/b/f", "a/c/f"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("f"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return dir, archive.RootFS{Root: r}
}

// TestGlobUnreadableIsAnError: the cache key's source glob fails on a
// directory it cannot list instead of matching nothing there.
func TestGlobUnreadableIsAnError(t *testing.T) {
	_, fsys := contextDir(t)
	if m, err := glob(fsys, "a/*/f"); err != nil || len(m) != 2 {
		t.Fatalf("glob = %v, %v", m, err)
	}
	if _, err := glob(deniedFS{fsys, map[string]bool{"a": true}}, "a/*/f"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("glob over an unreadable directory = %v, want a permission error", err)
	}
	if m, err := glob(fsys, "nothere/*"); err != nil || len(m) != 0 {
		t.Errorf("glob below a missing directory = %v, %v", m, err)
	}
	if m, err := glob(fsys, "a/b/f/*"); err != nil || len(m) != 0 {
		t.Errorf("glob below a file = %v, %v", m, err)
	}
}

// TestContextErrorNamesHostPath: a permission error of the context names
// the file by its host path and says what to do, as BuildKit's
// "open PATH: permission denied" names it.
func TestContextErrorNamesHostPath(t *testing.T) {
	dir, _ := contextDir(t)
	e := &Env{Contexts: map[string]string{"context": dir}}
	err := e.contextError("context", &fs.PathError{Op: "openat", Path: "a/b/f", Err: syscall.EACCES})
	want := "open " + filepath.Join(dir, "a/b/f") + ": permission denied: gorae cannot read this part of the build context"
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), ".dockerignore") || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("contextError = %v", err)
	}
	other := &fs.PathError{Op: "openat", Path: "a", Err: syscall.EIO}
	if got := e.contextError("context", other); got != other {
		t.Errorf("a non-permission error changed: %v", got)
	}
}

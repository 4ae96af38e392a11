package copier

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gorae/gorae/archive"
)

// deniedFS answers EACCES for the names in denied, as a directory or file
// the builder may not read would.
type deniedFS struct {
	archive.FS
	denied map[string]bool
}

func (d deniedFS) check(op, name string) error {
	if d.denied[name] {
		return &fs.PathError{Op: op, Path: name, Err: syscall.EACCES}
	}
	return nil
}

func (d deniedFS) Lstat(name string) (fs.FileInfo, error) {
	if err := d.check("lstat", name); err != nil {
		return nil, err
	}
	return d.FS.Lstat(name)
}

func (d deniedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := d.check("openat", name); err != nil {
		return nil, err
	}
	return d.FS.ReadDir(name)
}

func rootFS(t *testing.T, files map[string]string) archive.FS {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return archive.RootFS{Root: r}
}

// TestWildcardUnreadableIsAnError: a wildcard source below a directory
// the builder cannot read is an error, never silently "no match".
func TestWildcardUnreadableIsAnError(t *testing.T) {
	base := rootFS(t, map[string]string{"a/b/f": "f", "a/c/f": "f"})
	m, err := expand(base, "a/*/f")
	if err != nil || len(m) != 2 {
		t.Fatalf("expand = %v, %v", m, err)
	}
	// a/c cannot even be looked up (its parent is not searchable).
	_, err = expand(deniedFS{base, map[string]bool{"a/c": true}}, "a/c/*")
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("expand below an unreadable directory = %v, want a permission error", err)
	}
	// A missing parent still matches nothing, as in BuildKit.
	if m, err := expand(base, "nothere/*/f"); err != nil || len(m) != 0 {
		t.Errorf("expand below a missing directory = %v, %v", m, err)
	}
}

// TestIgnoreExceptionUnreadableIsAnError: an excluded directory with an
// exception below it must be read to know what is kept; one that cannot
// be is an error, not silently hidden.
func TestIgnoreExceptionUnreadableIsAnError(t *testing.T) {
	base := rootFS(t, map[string]string{"secret/pub.txt": "pub", "secret/key": "k", "ok": "ok"})
	fsys, err := ContextFS(deniedFS{base, map[string]bool{"secret": true}}, []string{"secret", "!secret/pub.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := archive.ReadDirInfo(fsys, "."); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("listing a context with an unreadable excluded directory = %v, want a permission error", err)
	}
	fsys, err = ContextFS(base, []string{"secret", "!secret/pub.txt"})
	if err != nil {
		t.Fatal(err)
	}
	ents, err := fsys.ReadDir("secret")
	if err != nil || len(ents) != 1 || ents[0].Name() != "pub.txt" {
		t.Errorf("readable: secret holds %v, %v", ents, err)
	}
}

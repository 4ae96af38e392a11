package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
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

// TestWalkOrderAndValues: whatever the workers list ahead, the walk hands
// over every entry once, in the order of a plain depth-first walk of
// name-sorted directories, with each non-directory's leaf value.
func TestWalkOrderAndValues(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 40 {
		files = append(files, fmt.Sprintf("w/%02d/f", i))
	}
	files = append(files, "a/b/c/d/e/f", "a-", "a.b", "a0/x", "a/b-", "a/b/c-", "z", "e/m/pty/")
	for _, p := range files {
		full := filepath.Join(dir, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a0/x", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	var want []treeEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		en := treeEntry{rel: rel, mode: fi.Mode()}
		if !d.IsDir() {
			en.value = "v:" + rel
		}
		want = append(want, en)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fsys := archive.RootFS{Root: r}
	leaf := func(rel string, fi fs.FileInfo) (string, error) { return "v:" + rel, nil }
	for _, limit := range []int{1, 3, walkAhead} {
		var got []treeEntry
		err := walkLimited(t.Context(), fsys, ".", leaf, func(en treeEntry) { got = append(got, en) }, limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: walked\n%v\nwant\n%v", limit, got, want)
		}
	}
	// A file as the source is its only entry.
	var got []treeEntry
	if err := walk(t.Context(), fsys, "a/b/c/d/e/f", leaf, func(en treeEntry) { got = append(got, en) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].rel != "a/b/c/d/e/f" || got[0].value != "v:a/b/c/d/e/f" {
		t.Errorf("walk of a file = %v", got)
	}
}

// TestWalkErrorStopsEverything: a leaf error ends the walk with that
// error, and no leaf runs once walk has returned.
func TestWalkErrorStopsEverything(t *testing.T) {
	dir := t.TempDir()
	for i := range 30 {
		for j := range 5 {
			p := filepath.Join(dir, fmt.Sprintf("d%02d/f%d", i, j))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	boom := errors.New("boom")
	var returned atomic.Bool
	var late atomic.Int32
	leaf := func(rel string, fi fs.FileInfo) (string, error) {
		if returned.Load() {
			late.Add(1)
		}
		if rel == "d07/f3" {
			return "", boom
		}
		return "", nil
	}
	for _, limit := range []int{1, walkAhead} {
		returned.Store(false)
		err := walkLimited(t.Context(), archive.RootFS{Root: r}, ".", leaf, func(treeEntry) {}, limit)
		returned.Store(true)
		if !errors.Is(err, boom) {
			t.Errorf("limit %d: walk = %v, want the leaf's error", limit, err)
		}
	}
	if late.Load() > 0 {
		t.Errorf("leaf ran %d times after walk returned", late.Load())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := walk(ctx, archive.RootFS{Root: r}, ".", leaf, func(treeEntry) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("walk with a cancelled context = %v", err)
	}
}

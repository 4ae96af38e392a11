package snapshot

import (
	"io"
	"os"
	"strings"
	"testing"
)

// TestViewLongPath: a View reads a layer directory's entries below a path
// longer than PATH_MAX (Lstat, ReadDir with Info, Readlink, Open), as a
// COPY --from of such a tree needs.
func TestViewLongPath(t *testing.T) {
	dir := t.TempDir()
	parts := make([]string, 18)
	for i := range parts {
		parts[i] = strings.Repeat("v", 250)
	}
	deep := strings.Join(parts, "/")
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(deep+"/f", []byte("deep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Symlink("f", deep+"/l"); err != nil {
		t.Fatal(err)
	}
	v := NewView([]string{dir})
	if fi, err := v.Lstat(deep + "/f"); err != nil || fi.Size() != 4 {
		t.Fatalf("Lstat = %v, %v", fi, err)
	}
	ents, err := v.ReadDir(deep)
	if err != nil || len(ents) != 2 {
		t.Fatalf("ReadDir = %v, %v", ents, err)
	}
	for _, e := range ents {
		if _, err := e.Info(); err != nil {
			t.Errorf("Info of %s: %v", e.Name(), err)
		}
	}
	if target, err := v.Readlink(deep + "/l"); err != nil || target != "f" {
		t.Errorf("Readlink = %q, %v", target, err)
	}
	f, err := v.Open(deep + "/l")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(f); string(b) != "deep" {
		t.Errorf("content through the link = %q", b)
	}
}

package snapshot

import (
	"io"
	"net"
	"os"
	"path/filepath"
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

// TestDiffLongPathAndSocket: a RUN's output with a path longer than
// PATH_MAX is in the layer whole (overlay and plain copy alike); a
// socket is left out of the layer, named by Dropped, and gone from the
// committed snapshot.
func TestDiffLongPathAndSocket(t *testing.T) {
	needRoot(t)
	for _, mode := range []prepareMode{modeAuto, modeCopy} {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		_, lowers := twoLayers(t, s)
		a, err := s.prepare(t.Context(), lowers, mode)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Remove() })
		parts := make([]string, 18)
		for i := range parts {
			parts[i] = strings.Repeat("r", 250)
		}
		deep := "usr/" + strings.Join(parts, "/")
		r, err := os.OpenRoot(a.Merged)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.MkdirAll(deep, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteFile(deep+"/out", []byte("deep out"), 0o644); err != nil {
			t.Fatal(err)
		}
		r.Close()
		l, err := net.Listen("unix", filepath.Join(a.Merged, "usr", "ctl.sock"))
		if err != nil {
			t.Fatal(err)
		}
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		l.Close()
		data, changed := diffTar(t, a, nil)
		if !changed {
			t.Fatal("no change")
		}
		entries := strings.Join(tarEntries(t, data), "\n")
		if !strings.Contains(entries, deep+"/out 0 644 0:0 \"deep out\"") {
			t.Errorf("mode %d: the layer lacks the deep file:\n%.600s", mode, entries)
		}
		if strings.Contains(entries, "ctl.sock") {
			t.Errorf("mode %d: the layer holds the socket", mode)
		}
		if got := a.Dropped(); len(got) != 1 || got[0] != "usr/ctl.sock" {
			t.Errorf("mode %d: Dropped = %v", mode, got)
		}
		chain := testDiffID("d")
		if err := a.Commit(t.Context(), s, chain); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(s.dir, chain.Hex, "fs", "usr", "ctl.sock")); !os.IsNotExist(err) {
			t.Errorf("mode %d: the committed snapshot holds the socket: %v", mode, err)
		}
	}
}

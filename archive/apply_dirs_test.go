package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestApplyInvalidatesReplacedDirs: a directory whose descriptor Apply
// keeps open and which a later entry removes must not take later
// entries into the removed directory, nor let them through a symlink
// put in its place.
func TestApplyInvalidatesReplacedDirs(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name    string
		entries []*tar.Header
		bad     string // the entry the error must name; "" for none
		why     string // and what the error must say
		exist   []string
		absent  []string
	}{
		{"symlink replaces dir", []*tar.Header{
			{Name: "real/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "a/f", Typeflag: tar.TypeReg, Mode: 0o644},
			{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "real"},
			{Name: "a/g", Typeflag: tar.TypeReg, Mode: 0o644},
		}, "a/g", "is a symlink", nil, []string{"real/g", "real/f"}},
		{"file replaces dir, dir again", []*tar.Header{
			{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "a/b/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "a/b/f", Typeflag: tar.TypeReg, Mode: 0o644},
			{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644},
			{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "a/b/g", Typeflag: tar.TypeReg, Mode: 0o644},
		}, "", "", []string{"a/b/g"}, []string{"a/b/f"}},
		{"whiteout replaces dir", []*tar.Header{
			{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "d/x/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "d/x/f", Typeflag: tar.TypeReg, Mode: 0o644},
			{Name: ".wh.d", Typeflag: tar.TypeReg, Mode: 0o644},
			{Name: "d/x/g", Typeflag: tar.TypeReg, Mode: 0o644},
		}, "d/x/g", "not a directory", nil, []string{"d/x"}},
		{"hard link replaces its target's dir", []*tar.Header{
			{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "a/x", Typeflag: tar.TypeReg, Mode: 0o644},
			{Name: "a", Typeflag: tar.TypeLink, Linkname: "a/x"},
		}, "a", "no such file", nil, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Apply(t.Context(), dir, bytes.NewReader(layerTar(t, tc.entries, nil)))
			switch {
			case tc.bad == "" && err != nil:
				t.Fatal(err)
			case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), `"`+tc.bad+`"`) || !strings.Contains(err.Error(), tc.why)):
				t.Fatalf("Apply = %v, want an error naming %q that says %q", err, tc.bad, tc.why)
			}
			for _, p := range tc.exist {
				if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			}
			for _, p := range tc.absent {
				if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
					t.Errorf("%s exists (%v); it went with its replaced directory", p, err)
				}
			}
		})
	}
}

// TestApplyManyDirs: more directories than Apply keeps open, visited
// twice, all get their files, and their modes and times, set after the
// cache has long dropped them.
func TestApplyManyDirs(t *testing.T) {
	needRoot(t)
	n := 3 * maxCachedDirs
	mt := func(i int) time.Time { return time.Unix(1600000000+int64(i), 0) }
	var entries []*tar.Header
	bodies := map[string]string{}
	for pass := range 2 {
		for i := range n {
			d := fmt.Sprintf("top/d%d/sub", i)
			if pass == 0 {
				entries = append(entries, &tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o710, ModTime: mt(i)})
			}
			f := fmt.Sprintf("%s/f%d", d, pass)
			bodies[f] = f
			entries = append(entries, &tar.Header{Name: f, Typeflag: tar.TypeReg, Mode: 0o640, ModTime: mt(i)})
		}
	}
	entries = append(entries, &tar.Header{Name: "top/d0/sub/hard", Typeflag: tar.TypeLink, Linkname: fmt.Sprintf("top/d%d/sub/f1", n-1)})
	dir := t.TempDir()
	if _, err := Apply(t.Context(), dir, bytes.NewReader(layerTar(t, entries, bodies))); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		d := filepath.Join(dir, fmt.Sprintf("top/d%d/sub", i))
		fi, err := os.Lstat(d)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o710 || !fi.ModTime().Equal(mt(i)) {
			t.Fatalf("%s: %v, %v; want a 0710 directory with mtime %v", d, fi, err, mt(i))
		}
		for pass := range 2 {
			f := fmt.Sprintf("top/d%d/sub/f%d", i, pass)
			if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(b) != f {
				t.Fatalf("%s = %q, %v", f, b, err)
			}
		}
	}
	if a, b := lstat(t, filepath.Join(dir, "top/d0/sub/hard")), lstat(t, filepath.Join(dir, fmt.Sprintf("top/d%d/sub/f1", n-1))); a.Ino != b.Ino {
		t.Error("hard link to a directory out of the cache is not a link")
	}
}

// TestApplyClosesDescriptors: Apply leaves no descriptor open, whether
// it succeeds or fails half-way.
func TestApplyClosesDescriptors(t *testing.T) {
	needRoot(t)
	var entries []*tar.Header
	for i := range 2 * maxCachedDirs {
		entries = append(entries, &tar.Header{Name: fmt.Sprintf("d%d/e/f", i), Typeflag: tar.TypeReg, Mode: 0o644})
	}
	good := layerTar(t, entries, nil)
	bad := layerTar(t, append(entries, &tar.Header{Name: "l", Typeflag: tar.TypeLink, Linkname: "../x"}), nil)
	for name, layer := range map[string][]byte{"success": good, "error": bad} {
		before := openFDs(t)
		_, err := Apply(t.Context(), t.TempDir(), bytes.NewReader(layer))
		if (err != nil) != (name == "error") {
			t.Fatalf("%s: Apply = %v", name, err)
		}
		if after := openFDs(t); after != before {
			t.Errorf("%s: %d descriptors open after Apply, %d before", name, after, before)
		}
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

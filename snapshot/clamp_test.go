package snapshot

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestClampTimes checks that after Diff every entry of the upper
// directory newer than the epoch, at any depth and of any type, gets the
// epoch, that older entries keep their times, and that the same holds
// when Diff was not called.
func TestClampTimes(t *testing.T) {
	needRoot(t)
	for _, diffFirst := range []bool{true, false} {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		_, lowers := twoLayers(t, s)
		a, err := s.Prepare(t.Context(), lowers)
		if err != nil {
			t.Fatal(err)
		}
		if a.copied {
			a.Remove()
			t.Skip("no overlay here: ClampTimes only acts on an upper directory")
		}
		mutate(t, a.Merged)
		m := func(n string) string { return filepath.Join(a.Merged, n) }
		if err := os.MkdirAll(m("data/a/b"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"data/f", "data/a/f", "data/a/b/f", "data/old"} {
			if err := os.WriteFile(m(f), []byte(f), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		old := time.Unix(1000, 0)
		if err := os.Chtimes(m("data/old"), old, old); err != nil {
			t.Fatal(err)
		}
		if diffFirst {
			diffTar(t, a, []string{"etc/resolv.conf"})
		}
		epoch := time.Unix(2000, 0)
		a.ClampTimes(epoch)
		n := 0
		err = filepath.WalkDir(a.Upper, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			want := epoch
			if filepath.Base(p) == "old" {
				want = old
			}
			if !fi.ModTime().Equal(want) {
				t.Errorf("diff first %v: %s mtime %v, want %v", diffFirst, p, fi.ModTime().UTC(), want.UTC())
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < 15 {
			t.Errorf("only %d entries in the upper directory", n)
		}
		if err := a.Remove(); err != nil {
			t.Fatal(err)
		}
	}
}

package cache

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStatsPersistAndInvalidate(t *testing.T) {
	root, tmp := t.TempDir(), t.TempDir()
	s, err := OpenStats(root, tmp, "/ctx")
	if err != nil {
		t.Fatal(err)
	}
	id := FileID{1, 2, 3, 4, 5}
	s.Put("a.txt", id, "sha256:aa")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenStats(root, tmp, "/ctx")
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := s2.Get("a.txt", id); !ok || d != "sha256:aa" {
		t.Errorf("reloaded Get = %q, %v", d, ok)
	}
	changedCtime := id
	changedCtime[4]++
	if _, ok := s2.Get("a.txt", changedCtime); ok {
		t.Error("a file with a new ctime (same size and mtime) must miss")
	}
	other, _ := OpenStats(root, tmp, "/other")
	if _, ok := other.Get("a.txt", id); ok {
		t.Error("another context shares entries")
	}
	if m, _ := filepath.Glob(filepath.Join(tmp, "*")); len(m) != 0 {
		t.Errorf("temp files left: %v", m)
	}
}

func TestCorruptRecordIsAMiss(t *testing.T) {
	c, err := Open[[]string](t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var warned error
	c.Warn = func(err error) { warned = err }
	var k [32]byte
	k[0] = 1
	if err := c.Save(t.Context(), k, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if r, ok, err := c.Load(t.Context(), k); err != nil || !ok || r[0] != "x" {
		t.Fatalf("Load = %v %v %v", r, ok, err)
	}
	if err := writeFile(c.path(k), "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Load(t.Context(), k); ok || err != nil {
		t.Errorf("corrupt record: ok=%v err=%v, want a miss", ok, err)
	}
	if warned == nil {
		t.Error("corrupt record gave no warning")
	}
}

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o600) }

func TestStatsSkipRecentlyChangedFiles(t *testing.T) {
	s, err := OpenStats(t.TempDir(), t.TempDir(), "/ctx")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixNano()
	id := FileID{1, 2, 3, now, now}
	s.Put("fresh", id, "sha256:ff")
	if _, ok := s.Get("fresh", id); ok {
		t.Error("a file changed just now was recorded: a same-tick rewrite would be missed")
	}
}

// A damaged stat cache must never yield a digest: every truncation and a
// flipped bit read as an empty cache, so files are hashed again.
func TestStatsFileDamageIsEmpty(t *testing.T) {
	root, tmp := t.TempDir(), t.TempDir()
	s, err := OpenStats(root, tmp, "/ctx")
	if err != nil {
		t.Fatal(err)
	}
	old := FileID{1, 2, 3, 4, 5}
	s.Put("dir/a.txt", old, "aaaa")
	s.Put("b.txt", FileID{6, 7, 8, 9, 10}, "bbbb")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(s.path)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := OpenStats(root, tmp, "/ctx"); r.file.len() != 2 {
		t.Fatalf("reloaded %d entries, want 2", r.file.len())
	}
	damaged := [][]byte{}
	for n := range len(good) {
		damaged = append(damaged, good[:n])
	}
	for i := range good {
		b := append([]byte(nil), good...)
		b[i] ^= 0x10
		damaged = append(damaged, b)
	}
	for i, b := range damaged {
		if err := os.WriteFile(s.path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := OpenStats(root, tmp, "/ctx")
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := r.Get("dir/a.txt", old); ok {
			t.Fatalf("damaged file %d gave digest %q", i, d)
		}
	}
}

// Entries of one directory are interleaved with their subdirectories'
// in the file; every one must still be found after a reload, and a path
// that was never recorded must not be.
func TestStatsReloadNestedDirectories(t *testing.T) {
	root, tmp := t.TempDir(), t.TempDir()
	s, err := OpenStats(root, tmp, "/ctx")
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"a", "a/b", "a/b.txt", "a/b/c", "a/b/c/d", "a/b-2", "a/c", "z", "a/b/c/e", ".hidden", "x/y/z/w"}
	for i, p := range paths {
		s.Put(p, FileID{int64(i + 1), 2, 3, 4, 5}, "d-"+p)
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	// The saved file is read again when asked.
	if d, ok := s.Get("a/b/c", FileID{4, 2, 3, 4, 5}); !ok || d != "d-a/b/c" {
		t.Errorf("Get after Save = %q, %v", d, ok)
	}
	// A second save after more Puts keeps the older entries, and a new
	// record of a path replaces its old one.
	s.Put("a/new", FileID{99, 2, 3, 4, 5}, "d-a/new")
	s.Put("a/b.txt", FileID{98, 2, 3, 4, 5}, "new-a/b.txt")
	s.Put("0first", FileID{97, 2, 3, 4, 5}, "d-0first")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	paths = append(paths, "a/new", "0first")
	r, err := OpenStats(root, tmp, "/ctx")
	if err != nil {
		t.Fatal(err)
	}
	if r.file.len() != len(paths) {
		t.Errorf("reloaded %d entries, want %d", r.file.len(), len(paths))
	}
	for i, p := range paths {
		id, want := FileID{int64(i + 1), 2, 3, 4, 5}, "d-"+p
		switch p {
		case "a/new":
			id[0] = 99
		case "a/b.txt":
			id[0], want = 98, "new-a/b.txt"
		case "0first":
			id[0] = 97
		}
		if d, ok := r.Get(p, id); !ok || d != want {
			t.Errorf("Get(%q) = %q, %v; want %q", p, d, ok, want)
		}
	}
	for _, p := range []string{"a/bb", "a/b/c/f", "b", "", "x/y", "a/b/c/d/e"} {
		if d, ok := r.Get(p, FileID{1, 2, 3, 4, 5}); ok {
			t.Errorf("Get(%q) found %q, never recorded", p, d)
		}
	}
}

// Puts out of name order, again for the same path, and digests of every
// form are found as last put, and saved in path order.
func TestStatsAddedInAnyOrder(t *testing.T) {
	root, tmp := t.TempDir(), t.TempDir()
	s, err := OpenStats(root, tmp, "/ctx")
	if err != nil {
		t.Fatal(err)
	}
	hexSum := strings.Repeat("0123456789abcdef", 4)
	puts := []struct {
		rel, digest string
	}{
		{"d/z", hexSum}, {"d/a", "sha256:" + hexSum}, {"d/m", strings.ToUpper(hexSum)},
		{"d/a", "second"}, {"d-", ""}, {"d/b/c", "x"}, {"top", hexSum[:63] + "g"},
	}
	for i, p := range puts {
		s.Put(p.rel, FileID{int64(i + 1), 1, 1, 1, 1}, p.digest)
	}
	want := map[string]int{}
	for i, p := range puts {
		want[p.rel] = i
	}
	check := func(s *Stats, when string) {
		for rel, i := range want {
			if d, ok := s.Get(rel, FileID{int64(i + 1), 1, 1, 1, 1}); !ok || d != puts[i].digest {
				t.Errorf("%s: Get(%q) = %q, %v; want %q", when, rel, d, ok, puts[i].digest)
			}
		}
	}
	check(s, "before Save")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenStats(root, tmp, "/ctx")
	if err != nil {
		t.Fatal(err)
	}
	check(r, "reloaded")
	// The file lists each path once, in path order.
	d, count, ok := statBody(mustRead(t, s.path))
	if !ok || count != uint64(len(want)) {
		t.Fatalf("file has %d entries (ok %v), want %d", count, ok, len(want))
	}
	var paths []string
	for range count {
		paths = append(paths, d.str())
		for range len(FileID{}) {
			d.varint()
		}
		d.str()
	}
	if !slices.IsSorted(paths) {
		t.Errorf("file paths %q are not sorted", paths)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCompareJoined(t *testing.T) {
	parts := [][2]string{{"", "a"}, {"a/", "b"}, {"a/", "b-"}, {"a/b/", "c"}, {"", "a-"}, {"a-/", ""}, {"ab/", "c"}, {"a/", ""}, {"", ""}}
	for _, x := range parts {
		for _, y := range parts {
			want := strings.Compare(x[0]+x[1], y[0]+y[1])
			if got := compareJoined(x[0], x[1], y[0], y[1]); got != want {
				t.Errorf("compareJoined(%q, %q, %q, %q) = %d, want %d", x[0], x[1], y[0], y[1], got, want)
			}
		}
	}
}

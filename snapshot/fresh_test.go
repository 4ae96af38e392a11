package snapshot

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// fakeGroups makes flexGroup answer from a map of base names.
func fakeGroups(t *testing.T, groups map[string]uint64) {
	old := flexGroup
	flexGroup = func(p string) (uint64, bool) {
		g, ok := groups[filepath.Base(p)]
		return g, ok
	}
	t.Cleanup(func() { flexGroup = old })
}

// TestRecordFreedWindow: groups freed within the window are read back,
// older ones and garbage lines are dropped, and a group freed again keeps
// its newest time.
func TestRecordFreedWindow(t *testing.T) {
	dir := t.TempDir()
	fakeGroups(t, map[string]uint64{"a": 3, "b": 5, "c": 3})
	now := time.Now()
	old := now.Add(-2 * recentWindow)
	recordFreed(dir, []string{"a"}, old)
	recordFreed(dir, []string{"b", "c"}, now)
	f, err := os.OpenFile(filepath.Join(dir, freedFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("garbage\n" + strconv.FormatInt(old.Unix(), 10) + " 9\n")
	f.Close()
	got := recentFreed(dir, now)
	if len(got) != 2 || got[3].Unix() != now.Unix() || got[5].Unix() != now.Unix() {
		t.Errorf("recent groups = %v, want 3 and 5 at %v", got, now.Unix())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("store holds %d entries, want only %s", len(ents), freedFile)
	}
}

// TestMkdirSpreadSkipsFreedGroups: a directory made in a recently freed
// group is passed over and removed; one elsewhere is kept; after
// spreadTries the last one is taken whatever its group.
func TestMkdirSpreadSkipsFreedGroups(t *testing.T) {
	dir := t.TempDir()
	s := &Store{dir: dir}
	fakeGroups(t, map[string]uint64{"f0": 7, "f1": 7, "ok": 8, "g0": 7, "g1": 7, "g2": 7, "g3": 7, "g4": 7})
	recordFreed(dir, []string{"f0"}, time.Now())
	seq := func(names ...string) func() (string, error) {
		i := 0
		return func() (string, error) {
			p := filepath.Join(dir, names[i])
			i++
			return p, os.Mkdir(p, 0o700)
		}
	}
	got, err := s.mkdirSpread(seq("f0", "f1", "ok"))
	if err != nil || filepath.Base(got) != "ok" {
		t.Fatalf("mkdirSpread = %s, %v; want ok", got, err)
	}
	got, err = s.mkdirSpread(seq("g0", "g1", "g2", "g3", "g4"))
	if err != nil || filepath.Base(got) != "g"+strconv.Itoa(spreadTries-1) {
		t.Fatalf("mkdirSpread = %s, %v; want the try number %d", got, err, spreadTries)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{freedFile, "g" + strconv.Itoa(spreadTries-1), "ok"}; len(names) != 3 || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Errorf("left %v, want %v", names, want)
	}
}

// TestMkdirSpreadNothingFreed: without a record every first directory is
// taken and nothing is stat'ed.
func TestMkdirSpreadNothingFreed(t *testing.T) {
	dir := t.TempDir()
	s := &Store{dir: dir}
	flexGroup = func(string) (uint64, bool) { t.Fatal("flexGroup called without a record"); return 0, false }
	t.Cleanup(func() { flexGroup = flexGroupOf })
	p := filepath.Join(dir, "x")
	got, err := s.mkdirSpread(func() (string, error) { return p, os.Mkdir(p, 0o700) })
	if err != nil || got != p {
		t.Fatalf("mkdirSpread = %s, %v", got, err)
	}
}

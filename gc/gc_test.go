package gc

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorae/gorae/root"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "100": 100, "100b": 100, "512MB": 512 << 20, "512mb": 512 << 20,
		"10GB": 10 << 30, "10g": 10 << 30, "1.5GiB": 3 << 29, "2k": 2048, "1 TB": 1 << 40,
		"3KiB": 3072,
	} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GB", "-1GB", "10XB", "1e3", "ten", "0x10", "1.5.2G"} {
		if n, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, n)
		} else if !strings.Contains(err.Error(), "e.g. 512MB") {
			t.Errorf("ParseSize(%q) error %q does not show an example", in, err)
		}
	}
}

func TestGCBudget(t *testing.T) {
	dir := t.TempDir()
	for _, off := range []string{"0", "off", "OFF", "0GB"} {
		if _, err := gcBudget(dir, off); err != errGCOff {
			t.Errorf("GORAE_GC_BUDGET=%s: %v, want automatic GC off", off, err)
		}
	}
	if n, err := gcBudget(dir, "2GB"); err != nil || n != 2<<30 {
		t.Errorf("GORAE_GC_BUDGET=2GB: %d, %v", n, err)
	}
	if _, err := gcBudget(dir, "lots"); err == nil || !strings.Contains(err.Error(), "GORAE_GC_BUDGET") {
		t.Errorf("GORAE_GC_BUDGET=lots: error %v does not name the variable", err)
	}
	n, err := gcBudget(dir, "")
	if err != nil || n <= 0 || n > maxDefaultBudget {
		t.Errorf("default budget = %d, %v; want 10%% of the filesystem, at most 20 GB", n, err)
	}
}

// fixture is an inventory of two named images' blobs and three records:
//
//	old    (used at t0): blobs b1 (pinned) and bOld, chain cOld
//	mid    (used at t2): blobs b1 and bMid, chain cMid
//	new    (used at t4): blobs b1 and bNew (pinned), chain cNew (pinned)
//
// plus a cache mount used at t1, an explain record x used at t3, a
// corrupt record and a dangling blob.
func fixture(t0 time.Time) *inventory {
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	inv := newInventory()
	blob := func(name string, size int64, pinned bool) *item {
		it := &item{kind: kindBlob, name: name, size: size, pinned: pinned}
		inv.blobs[name] = it
		return it
	}
	chain := func(name string, size int64, used time.Time, pinned bool) *item {
		it := &item{kind: kindChain, name: name, size: size, used: used, pinned: pinned}
		inv.chains[name] = it
		return it
	}
	b1 := blob("b1", 1000, true)
	record := func(name string, used time.Time, deps ...*item) {
		r := &item{kind: kindRecord, name: name, size: 1, used: used, deps: deps}
		inv.records = append(inv.records, r)
		inv.link(r)
	}
	record("old", at(0), b1, blob("bOld", 100, false), chain("cOld", 200, at(0), false))
	record("mid", at(2), b1, blob("bMid", 100, false), chain("cMid", 200, at(2), false))
	record("new", at(4), b1, blob("bNew", 100, true), chain("cNew", 200, at(4), true))
	bad := &item{kind: kindRecord, name: "corrupt", size: 1, used: at(4), bad: true}
	inv.records = append(inv.records, bad)
	blob("dangling", 50, false)
	inv.mounts = append(inv.mounts, &item{kind: kindMount, name: "m", size: 300, used: at(1)})
	inv.explains = append(inv.explains, &item{kind: kindExplain, name: "x", size: 10, used: at(3)})
	inv.locks = append(inv.locks, &item{kind: kindLock, name: "cOld"}, &item{kind: kindLock, name: "cNew"})
	return inv
}

func gone(inv *inventory) []string {
	var out []string
	inv.each(func(it *item) {
		if it.gone {
			out = append(out, it.name)
		}
	})
	slices.Sort(out)
	return out
}

func TestPlan(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		p     policy
		freed int64
		gone  []string
	}{
		{"unreferenced only", policy{}, 51, []string{"corrupt", "dangling"}},
		{"until: old record, its blob and chain, the old mount", policy{until: t0.Add(90 * time.Minute)},
			51 + 301 + 300, []string{"cOld", "cOld", "bOld", "corrupt", "dangling", "m", "old"}},
		{"until never takes a named image's chain", policy{until: t0.Add(100 * time.Hour)},
			51 + 301 + 301 + 300 + 1 + 10, []string{"bMid", "bOld", "cMid", "cOld", "cOld", "corrupt", "dangling", "m", "mid", "new", "old", "x"}},
		// The build cache after the unreferenced go: bOld and bMid 200,
		// chains 600, mount 300, records 3, explain 10 = 1113. The named
		// images' blobs (b1, bNew: 1100) do not count.
		{"keep counts only what prune may remove", policy{keep: 1113}, 51, []string{"corrupt", "dangling"}},
		{"keep: oldest first, stop once it fits", policy{keep: 600},
			51 + 301 + 300, []string{"cOld", "cOld", "bOld", "corrupt", "dangling", "m", "old"}},
		{"keep below what images need: their chains go last, their blobs never", policy{keep: 1},
			51 + 1113, []string{"bMid", "bOld", "cMid", "cNew", "cNew", "cOld", "cOld", "corrupt", "dangling", "m", "mid", "new", "old", "x"}},
		{"all", policy{all: true}, 51 + 1113,
			[]string{"bMid", "bOld", "cMid", "cNew", "cNew", "cOld", "cOld", "corrupt", "dangling", "m", "mid", "new", "old", "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := fixture(t0)
			before := inv.total()
			freed := inv.plan(tc.p)
			if freed != tc.freed {
				t.Errorf("freed %d, want %d", freed, tc.freed)
			}
			if got := before - inv.total(); got != freed {
				t.Errorf("total shrank by %d, but plan says it freed %d", got, freed)
			}
			if tc.p.keep > 0 && inv.cache() > tc.p.keep {
				t.Errorf("build cache after keep %d is %d", tc.p.keep, inv.cache())
			}
			if got := inv.total() - inv.cache(); got != 1100 {
				t.Errorf("total - cache = %d, want the named images' blobs, 1100", got)
			}
			want := slices.Sorted(slices.Values(tc.gone))
			if got := gone(inv); !slices.Equal(got, want) {
				t.Errorf("removed %v\nwant    %v", got, want)
			}
			for _, b := range []string{"b1", "bNew"} {
				if inv.blobs[b].gone {
					t.Errorf("removed blob %s, which a named image needs", b)
				}
			}
		})
	}
}

// TestPlanKeepsSharedBlob: a blob two records use survives the removal
// of the older one.
func TestPlanKeepsSharedBlob(t *testing.T) {
	t0 := time.Now()
	inv := newInventory()
	shared := &item{kind: kindBlob, name: "shared", size: 500}
	inv.blobs["shared"] = shared
	for i, name := range []string{"older", "newer"} {
		r := &item{kind: kindRecord, name: name, size: 1, used: t0.Add(time.Duration(i) * time.Hour), deps: []*item{shared}}
		inv.records = append(inv.records, r)
		inv.link(r)
	}
	inv.plan(policy{until: t0.Add(30 * time.Minute)})
	if shared.gone || !inv.records[0].gone || inv.records[1].gone {
		t.Errorf("until between two users of a blob: older gone %v, newer gone %v, blob gone %v; want only the older record gone",
			inv.records[0].gone, inv.records[1].gone, shared.gone)
	}
}

// TestMountSizeMemo: a cache mount's size is remembered from a scan
// under the exclusive lock and measured again once a RUN has touched
// the mount (as ops' cacheDir does before the RUN writes).
func TestMountSizeMemo(t *testing.T) {
	root, err := root.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	m := filepath.Join(root.Dir, "mounts", "m1")
	if err := os.MkdirAll(m, 0o755); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(m, past, past); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		t.Helper()
		inv, err := sizes(root, true)
		if err != nil || len(inv.mounts) != 1 {
			t.Fatalf("sizes: %v, %d mounts", err, len(inv.mounts))
		}
		return inv.mounts[0].size
	}
	empty := size()
	if err := os.WriteFile(filepath.Join(m, "f"), make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(m, past, past); err != nil { // written without a touch
		t.Fatal(err)
	}
	if got := size(); got != empty {
		t.Errorf("size of an untouched mount = %d, want the remembered %d", got, empty)
	}
	now := time.Now()
	if err := os.Chtimes(m, now, now); err != nil {
		t.Fatal(err)
	}
	if got := size(); got < empty+64<<10 {
		t.Errorf("size after a touch = %d, want at least %d: it was not measured again", got, empty+64<<10)
	}
}

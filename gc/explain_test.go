package gc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorae/gorae/root"
)

// TestPruneExplainRecords: explain/<target> records count in DiskUsage
// and the build cache, and prune removes them like cache records: by
// age with Until, least recently used first with KeepStorage, all with
// All.
func TestPruneExplainRecords(t *testing.T) {
	root, err := root.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	mk := func(c string, age time.Duration) string {
		t.Helper()
		dir := filepath.Join(root.Dir, "explain", strings.Repeat(c, 64))
		if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
			t.Fatal(err)
		}
		rec := filepath.Join(dir, "record.json")
		if err := os.WriteFile(rec, make([]byte, 8<<10), 0o644); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(dir, at, at); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	oldest, old, fresh := mk("a", 72*time.Hour), mk("b", 48*time.Hour), mk("c", 0)
	exists := func(dir string) bool { _, err := os.Stat(dir); return err == nil }

	du, err := DiskUsage(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	var ex *KindUse
	for i := range du.Kinds {
		if du.Kinds[i].Kind == "explain records" {
			ex = &du.Kinds[i]
		}
	}
	if ex == nil || ex.Count != 3 || ex.Size < 3*8<<10 {
		t.Fatalf("du explain records = %+v, want 3 of at least 8 KiB", ex)
	}
	if du.Cache < ex.Size || du.Reclaimable != 0 {
		t.Errorf("du: cache %d (want at least the explain records' %d), reclaimable %d (want 0: prune alone keeps them)", du.Cache, ex.Size, du.Reclaimable)
	}

	if _, err := Prune(t.Context(), root, PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if !exists(oldest) || !exists(old) || !exists(fresh) {
		t.Fatal("prune without options removed an explain record")
	}
	if _, err := Prune(t.Context(), root, PruneOptions{Until: 60 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if exists(oldest) || !exists(old) || !exists(fresh) {
		t.Fatalf("until=60h: oldest kept %v, old kept %v, fresh kept %v; want only the oldest removed", exists(oldest), exists(old), exists(fresh))
	}
	// Room for one record: the least recently used goes.
	freed, err := Prune(t.Context(), root, PruneOptions{KeepStorage: ex.Size/3 + 4<<10})
	if err != nil {
		t.Fatal(err)
	}
	if exists(old) || !exists(fresh) || freed < 8<<10 {
		t.Fatalf("keep-storage: old kept %v, fresh kept %v, freed %d; want old removed", exists(old), exists(fresh), freed)
	}
	if _, err := Prune(t.Context(), root, PruneOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	if exists(fresh) {
		t.Error("prune --all kept an explain record")
	}
}

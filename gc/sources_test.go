package gc

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorae/gorae/root"
)

// TestPruneFetchedSources: git repositories and checkouts and extracted
// remote contexts count in DiskUsage and the build cache, and prune
// removes them by age with Until, least recently used first with
// KeepStorage and all with All; lock files and the empty context stay.
func TestPruneFetchedSources(t *testing.T) {
	root, err := root.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	mk := func(rel string, age time.Duration) string {
		t.Helper()
		dir := filepath.Join(root.Dir, rel)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "data"), make([]byte, 16<<10), 0o644); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(dir, at, at); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	oldest := mk("contexts/aaaa", 72*time.Hour)
	old := mk("git/checkouts/bbbb", 48*time.Hour)
	fresh := mk("git/repos/cccc", 0)
	empty := filepath.Join(root.Dir, "contexts", "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(root.Dir, "git", "repos", "cccc.lock")
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	du, err := DiskUsage(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	var src *KindUse
	for i := range du.Kinds {
		if du.Kinds[i].Kind == "git and remote contexts" {
			src = &du.Kinds[i]
		}
	}
	if src == nil || src.Count != 3 || src.Size < 3*16<<10 {
		t.Fatalf("du sources = %+v, want 3 of at least 16 KiB", src)
	}
	if du.Cache < src.Size || du.Reclaimable != 0 {
		t.Errorf("du: cache %d (want at least the sources' %d), reclaimable %d (want 0: prune alone keeps them)", du.Cache, src.Size, du.Reclaimable)
	}

	if _, err := Prune(t.Context(), root, PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if !exists(oldest) || !exists(old) || !exists(fresh) {
		t.Fatal("prune without options removed a fetched source")
	}
	if _, err := Prune(t.Context(), root, PruneOptions{Until: 60 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if exists(oldest) || !exists(old) || !exists(fresh) {
		t.Fatalf("until=60h: oldest kept %v, old kept %v, fresh kept %v; want only the oldest removed", exists(oldest), exists(old), exists(fresh))
	}
	freed, err := Prune(t.Context(), root, PruneOptions{KeepStorage: src.Size/3 + 8<<10})
	if err != nil {
		t.Fatal(err)
	}
	if exists(old) || !exists(fresh) || freed < 16<<10 {
		t.Fatalf("keep-storage: old kept %v, fresh kept %v, freed %d; want old removed", exists(old), exists(fresh), freed)
	}
	if !exists(lock) || !exists(empty) {
		t.Errorf("lock file kept %v, empty context kept %v; want both kept", exists(lock), exists(empty))
	}
	if _, err := Prune(t.Context(), root, PruneOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	if exists(fresh) {
		t.Error("prune --all kept a git repository")
	}
}

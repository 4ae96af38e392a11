package snapshot

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A chain is published without waiting for the disk; after a reboot the
// chains published unsynced before it are unpacked again, and markers of
// this boot old enough to be on disk are settled.
func TestUnsyncedChainsAfterReboot(t *testing.T) {
	needRoot(t)
	if bootID() == "" {
		t.Skip("the kernel gives no boot ID")
	}
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	l := testLayer(t, "f", "content", &opens)
	dirs, err := s.Unpack(t.Context(), []Layer{l})
	if err != nil {
		t.Fatal(err)
	}
	chain := filepath.Base(filepath.Dir(dirs[0]))
	marker := filepath.Join(dir, "unsynced", chain+"."+bootID())
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("no unsynced marker for a new chain: %v", err)
	}

	// The same boot, soon after: the chain is trusted and kept.
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dirs[0]); err != nil {
		t.Fatalf("a chain of this boot was dropped: %v", err)
	}

	// Another boot: the chain may have lost data; it goes, and comes
	// back from its blob.
	other := filepath.Join(dir, "unsynced", chain+".00000000-0000-0000-0000-000000000000")
	if err := os.Rename(marker, other); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dirs[0]); err == nil {
		t.Fatal("a chain published unsynced before a reboot survived it")
	}
	if _, err := os.Stat(other); err == nil {
		t.Error("the old boot's marker survived")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	if _, err := s.Unpack(t.Context(), []Layer{l}); err != nil || opens.Load() != 2 {
		t.Fatalf("unpack again: %v, %d opens of the blob (want 2)", err, opens.Load())
	}
	if b, err := os.ReadFile(filepath.Join(dirs[0], "f")); err != nil || string(b) != "content" {
		t.Fatalf("unpacked again: %q, %v", b, err)
	}

	// This boot, long ago: one syncfs and the marker goes; the chain stays.
	old := time.Now().Add(-2 * settleAfter)
	if err := os.Chtimes(marker, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a settled marker stayed")
	}
	if _, err := os.Stat(dirs[0]); err != nil {
		t.Errorf("settling removed the chain: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "unsynced"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), chain) {
			t.Errorf("marker left: %s", e.Name())
		}
	}
}

package gc

import (
	"os"
	"testing"
	"time"

	"github.com/gorae/gorae/root"
)

// The walk after a build is skipped only while the last measurement plus
// the filesystem's growth since proves the root within budget.
func TestGCCheckSkipsOnlyWhenProvenWithinBudget(t *testing.T) {
	root := &root.Root{Dir: t.TempDir(), Tmp: t.TempDir()}
	now := time.Now()
	if withinBudget(root, 1<<40, now) {
		t.Fatal("within budget with no measurement")
	}
	recordCheck(root, 1000, now)
	if !withinBudget(root, 1<<40, now.Add(time.Minute)) {
		t.Error("not within a huge budget a minute after measuring 1000 bytes")
	}
	if withinBudget(root, 999, now) {
		t.Error("within a budget smaller than the measured size")
	}
	if withinBudget(root, 1<<40, now.Add(gcCheckMaxAge+time.Second)) {
		t.Error("an old measurement still skips the walk")
	}
	if withinBudget(root, 1<<40, now.Add(-time.Hour)) {
		t.Error("a measurement from the future (clock change) still skips the walk")
	}
	// Growth of the filesystem since the measurement counts against the
	// budget: 8 MiB written beside the root.
	used, ok := fsUsed(root.Dir)
	if !ok {
		t.Skip("statfs unavailable")
	}
	f, err := os.CreateTemp(root.Dir, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(make([]byte, 8<<20)); err != nil {
		t.Fatal(err)
	}
	f.Sync()
	f.Close()
	if after, _ := fsUsed(root.Dir); after-used < 4<<20 {
		t.Skipf("filesystem use did not grow visibly (%d → %d)", used, after)
	}
	if withinBudget(root, 1000+1<<20, now) {
		t.Error("within budget although the filesystem grew by 8 MiB")
	}
	if os.WriteFile(gcCheckPath(root), []byte("{bad"), 0o644) == nil && withinBudget(root, 1<<40, now) {
		t.Error("a corrupt gc-check.json skips the walk")
	}
}

package gc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/root"
)

// The automatic GC after every build must not cost what the build saved:
// sizing the root stats every blob, record and snapshot. gc-check.json
// remembers the last measured size of the root and how much of its
// filesystem was in use then. The root cannot have grown by more than
// the filesystem's use has since, so while that bound stays within the
// budget the walk is skipped. Space freed elsewhere on the filesystem
// could hide growth, so the walk runs at least every gcCheckMaxAge.

const gcCheckMaxAge = 10 * time.Minute

type gcCheck struct {
	Total  int64     `json:"total"`  // the root's size when measured
	FSUsed int64     `json:"fsUsed"` // bytes in use on its filesystem then
	At     time.Time `json:"at"`
}

func gcCheckPath(root *root.Root) string { return filepath.Join(root.Dir, "gc-check.json") }

// fsUsed is the number of bytes in use on dir's filesystem.
func fsUsed(dir string) (int64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize, true
}

// withinBudget reports whether the last measurement proves the root is
// still within budget without measuring it again.
func withinBudget(root *root.Root, budget int64, now time.Time) bool {
	b, err := os.ReadFile(gcCheckPath(root))
	if err != nil {
		return false
	}
	var c gcCheck
	if json.Unmarshal(b, &c) != nil || now.Sub(c.At) > gcCheckMaxAge || now.Before(c.At) {
		return false
	}
	used, ok := fsUsed(root.Dir)
	if !ok {
		return false
	}
	return c.Total+max(0, used-c.FSUsed) <= budget
}

// recordCheck remembers a measurement taken at 'at' (best effort: losing
// it costs one walk). The caller holds gc.lock exclusively.
func recordCheck(root *root.Root, total int64, at time.Time) {
	used, ok := fsUsed(root.Dir)
	if !ok {
		return
	}
	b, err := json.Marshal(gcCheck{Total: total, FSUsed: used, At: at})
	if err != nil {
		return
	}
	f, err := os.CreateTemp(root.Tmp, "gc-check-")
	if err != nil {
		return
	}
	_, werr := f.Write(b)
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), gcCheckPath(root)) != nil {
		os.Remove(f.Name())
	}
}

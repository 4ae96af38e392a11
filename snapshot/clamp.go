package snapshot

import (
	"io/fs"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ClampTimes sets every time in the overlay upper directory that is after
// epoch to epoch, after Diff and before Commit: the layer Diff wrote
// clamps them (SOURCE_DATE_EPOCH or the default epoch), and the snapshot
// the next steps of the chain see must hold what the layer holds, or a
// RUN that archives or lists files with their times (tar -czf) would
// differ between two builds. A plain copy (no overlay) is left alone: its
// diff compares times with the lower layers. Best effort: an entry that
// cannot be changed keeps its time (the layer is right either way).
func (a *Active) ClampTimes(epoch time.Time) {
	if a.copied || a.Upper == "" {
		return
	}
	ts := unix.NsecToTimespec(epoch.UnixNano())
	filepath.WalkDir(a.Upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil || !fi.ModTime().After(epoch) {
			return nil
		}
		unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
		return nil
	})
}

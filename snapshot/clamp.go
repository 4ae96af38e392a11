package snapshot

import (
	"io/fs"
	"path"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/longpath"
)

// ClampTimes sets every time in the overlay upper directory that is after
// epoch to epoch, after Diff and before Commit: the layer Diff wrote
// clamps them (SOURCE_DATE_EPOCH or the default epoch), and the snapshot
// the next steps of the chain see must hold what the layer holds, or a
// RUN that archives or lists files with their times (tar -czf) would
// differ between two builds. A plain copy (no overlay) is left alone: its
// diff compares times with the lower layers. Best effort: an entry that
// cannot be changed keeps its time (the layer is right either way).
//
// The entries and their mtimes come from Diff's walk, and each is set
// relative to its open directory: a RUN that wrote thousands of files
// would otherwise pay for a second walk, an lstat and a path lookup each.
func (a *Active) ClampTimes(epoch time.Time) {
	if a.copied || a.Upper == "" {
		return
	}
	ts := []unix.Timespec{unix.NsecToTimespec(epoch.UnixNano()), unix.NsecToTimespec(epoch.UnixNano())}
	if a.diff == nil {
		clampWalk(a.Upper, epoch, ts)
		return
	}
	if fi, err := longpath.Lstat(a.Upper); err == nil && fi.ModTime().After(epoch) {
		longpath.UtimesNano(a.Upper, ts)
	}
	dir, dirfd := "\x00", -1 // no directory open yet
	defer func() {
		if dirfd >= 0 {
			unix.Close(dirfd)
		}
	}()
	for _, e := range a.diff.upper {
		if !e.mtime.After(epoch) {
			continue
		}
		parent, base := path.Split(e.name)
		if parent != dir {
			if dirfd >= 0 {
				unix.Close(dirfd)
			}
			dir = parent
			var err error
			if dirfd, err = longpath.OpenFD(filepath.Join(a.Upper, parent), unix.O_PATH|unix.O_DIRECTORY); err != nil {
				dirfd = -1
			}
		}
		if dirfd >= 0 {
			unix.UtimesNanoAt(dirfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
		}
	}
}

// clampWalk is ClampTimes for an upper directory Diff did not walk.
func clampWalk(upper string, epoch time.Time, ts []unix.Timespec) {
	filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil || !fi.ModTime().After(epoch) {
			return nil
		}
		unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
		return nil
	})
}

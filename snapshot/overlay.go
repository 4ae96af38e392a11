package snapshot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorae/gorae/archive"
	"golang.org/x/sys/unix"
)

// Active is a writable snapshot over a chain of lower directories, the
// root filesystem of one RUN. Its lifecycle:
//
//  1. Store.Prepare creates it and, when the host allows, mounts an
//     overlay at Merged (lowers read-only, changes land in Upper);
//     otherwise Merged is a plain copy of the lowers.
//  2. The caller runs the command with Merged as its root, then stops
//     every process in it.
//  3. Diff writes the changes as a layer tar; Commit then turns them
//     into the chain directory of the new layer, or Remove discards
//     them. Commit and Remove both end the snapshot.
type Active struct {
	Dir    string   // DIR/active/<pid>-<random>: everything of the snapshot
	Upper  string   // overlay upper directory (unused by a plain copy)
	Work   string   // overlay work directory (unused by a plain copy)
	Merged string   // the tree the command sees
	Lowers []string // bottom first, as Unpack returns them

	copied  bool       // Merged is a plain copy, not an overlay mount
	marked  bool       // the copy's directories carry copiedMark
	mounted bool       // an overlay is mounted at Merged
	owner   *os.File   // flock held while the snapshot lives (see cleanActive)
	diff    *diffState // set by Diff, used by Commit
}

// diffState is what Commit needs from Diff.
type diffState struct {
	skip    []string // the skip list Diff was given
	pruned  []string // upper entries Diff left out, children first
	dropped []string // entries a layer cannot hold (sockets)
	upper   []upperEntry
}

// upperEntry is an entry of an overlay upper directory as the diff's walk
// saw it, so that ClampTimes need not walk and stat the directory again.
type upperEntry struct {
	name  string // relative to the upper directory
	mtime time.Time
}

// prepareMode says how Prepare may build the snapshot; tests force the
// plain copy with modeCopy.
type prepareMode int

const (
	modeAuto prepareMode = iota
	modeCopy
)

// Prepare creates an Active over lowers (bottom first) and mounts an
// overlay at its Merged directory. Where overlayfs cannot be used (the
// store itself lives on overlayfs, or the kernel refuses the mount),
// Merged is instead a full copy of the lowers, and Diff finds changes by
// comparing it with them.
func (s *Store) Prepare(ctx context.Context, lowers []string) (*Active, error) {
	return s.prepare(ctx, lowers, modeAuto)
}

func (s *Store) prepare(ctx context.Context, lowers []string, mode prepareMode) (a *Active, err error) {
	base := filepath.Join(s.dir, "active")
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, fmt.Errorf("prepare snapshot: %w", err)
	}
	spreadNewDirs(base)
	dir, err := s.mkdirSpread(func() (string, error) {
		var rnd [8]byte
		_, _ = rand.Read(rnd[:])
		dir := filepath.Join(base, strconv.Itoa(os.Getpid())+"-"+hex.EncodeToString(rnd[:]))
		return dir, os.Mkdir(dir, 0o700)
	})
	if err != nil {
		return nil, fmt.Errorf("prepare snapshot: %w", err)
	}
	a = &Active{
		Dir:    dir,
		Upper:  filepath.Join(dir, "upper"),
		Work:   filepath.Join(dir, "work"),
		Merged: filepath.Join(dir, "merged"),
		Lowers: slices.Clone(lowers),
	}
	if a.owner, err = ownerLock(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("prepare snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			_ = a.Remove()
		}
	}()
	for _, d := range []string{a.Upper, a.Work, a.Merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("prepare snapshot: %w", err)
		}
	}
	// The upper directory's root is the merged root: 0755 whatever the
	// umask, or a restrictive one would lock USER out of /.
	if err := os.Chmod(a.Upper, 0o755); err != nil {
		return nil, fmt.Errorf("prepare snapshot: %w", err)
	}
	if mode == modeAuto && !onOverlay(s.dir) {
		err := a.mount()
		if err == nil {
			return a, nil
		}
		fallback := []error{unix.EINVAL, unix.ENODEV, unix.EPERM, unix.ENOSYS, unix.EOPNOTSUPP}
		if !slices.ContainsFunc(fallback, func(e error) bool { return errors.Is(err, e) }) {
			return nil, err
		}
	}
	a.copied = true
	if a.marked, err = materialize(ctx, NewView(lowers), a.Merged); err != nil {
		return nil, fmt.Errorf("prepare snapshot by copy: %w", err)
	}
	return a, nil
}

// onOverlay reports whether dir is on overlayfs, where an overlay upper
// directory is not allowed.
func onOverlay(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.OVERLAYFS_SUPER_MAGIC
}

// mount mounts the overlay. index, redirect_dir and metacopy are turned
// off so that the upper directory holds only plain entries, whiteouts and
// opaque markers, which is what makes it a layer diff and a lower
// directory as it is; kernels without those options (or volatile) get
// more tries without them.
func (a *Active) mount() error {
	lowers := slices.Clone(a.Lowers)
	slices.Reverse(lowers) // overlay lists the top first
	if len(lowers) == 0 {
		empty := filepath.Join(a.Dir, "empty")
		if err := os.Mkdir(empty, 0o755); err != nil {
			return fmt.Errorf("mount overlay: %w", err)
		}
		lowers = []string{empty}
	}
	var err error
	bare := ""
	if archive.UserOverlayXattrs() {
		// Overlay metadata in user.overlay.* (Linux 5.11): trusted.* is
		// the host root's only.
		bare = ",userxattr"
	}
	plain := bare + ",index=off,redirect_dir=off,metacopy=off"
	// volatile (Linux 5.10): the unmount does not sync the upper
	// filesystem. Without it, unmounting the overlay of a RUN flushes
	// every dirty page of that filesystem, the base image just unpacked
	// included (0.14 s after FROM debian). The upper directory is
	// published unsynced like any chain (durable.go), and every mount
	// has a work directory of its own, so volatile's one rule (a work
	// directory once mounted volatile is never mounted again) holds.
	extras := []string{plain + ",volatile", plain, bare}
	if noVolatile.Load() {
		extras = extras[1:]
	}
	for i, extra := range extras {
		if i > 0 {
			// A failed try may have left its marks in the work
			// directory (work/incompat/volatile makes every later
			// mount of it fail): the next try gets an empty one.
			if err := resetDir(a.Work); err != nil {
				return fmt.Errorf("mount overlay: %w", err)
			}
		}
		opts := "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + a.Upper + ",workdir=" + a.Work + extra
		if len(opts) < os.Getpagesize() && !slices.ContainsFunc(lowers, needsEscape) {
			err = unix.Mount("overlay", a.Merged, "overlay", 0, opts)
		} else {
			err = a.fsmount(lowers, extra)
		}
		if err == nil {
			if i == 1 && strings.HasSuffix(extras[0], ",volatile") {
				noVolatile.Store(true) // not tried again by this process
			}
			a.mounted = true
			return nil
		}
	}
	return fmt.Errorf("mount overlay at %s: %w", a.Merged, err)
}

// noVolatile is set once a mount without volatile worked where the same
// mount with it failed: the kernel lacks the option.
var noVolatile atomic.Bool

// resetDir empties dir.
func resetDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Mkdir(dir, 0o755)
}

func needsEscape(p string) bool { return strings.ContainsAny(p, ",:\\") }

// fsmount mounts the overlay through the new mount API, passing each
// lower directory separately ("lowerdir+", Linux 6.8), so that neither
// the page-size limit of mount(2)'s option string nor separators in paths
// apply.
func (a *Active) fsmount(lowers []string, extra string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("%d lower directories do not fit in one mount option string and the new mount API is unavailable (%w); use fewer layers or a newer kernel", len(lowers), err)
	}
	defer unix.Close(fd)
	for _, l := range lowers {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			return fmt.Errorf("add lower directory %s (needs Linux 6.8 for many layers): %w", l, err)
		}
	}
	set := [][2]string{{"upperdir", a.Upper}, {"workdir", a.Work}}
	var flags []string
	for o := range strings.SplitSeq(strings.TrimPrefix(extra, ","), ",") {
		if k, v, ok := strings.Cut(o, "="); ok {
			set = append(set, [2]string{k, v})
		} else if o != "" {
			flags = append(flags, o) // userxattr, volatile
		}
	}
	for _, kv := range set {
		if err := unix.FsconfigSetString(fd, kv[0], kv[1]); err != nil {
			return fmt.Errorf("set overlay option %s: %w", kv[0], err)
		}
	}
	for _, f := range flags {
		if err := unix.FsconfigSetFlag(fd, f); err != nil {
			return fmt.Errorf("set overlay option %s: %w", f, err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return err
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	return unix.MoveMount(mfd, "", unix.AT_FDCWD, a.Merged, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

// unmount unmounts Merged, detaching it lazily if a process still holds
// it, so that the snapshot can always be ended.
func (a *Active) unmount() error {
	if !a.mounted {
		return nil
	}
	err := unix.Unmount(a.Merged, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(a.Merged, unix.MNT_DETACH)
	}
	if err != nil && !errors.Is(err, unix.EINVAL) { // EINVAL: not mounted
		return fmt.Errorf("unmount snapshot %s: %w", a.Merged, err)
	}
	a.mounted = false
	return nil
}

// Remove unmounts the snapshot and deletes everything of it.
func (a *Active) Remove() error {
	if err := a.unmount(); err != nil {
		return err
	}
	if err := os.RemoveAll(a.Dir); err != nil {
		return fmt.Errorf("remove snapshot %s: %w", a.Dir, err)
	}
	if a.owner != nil {
		a.owner.Close()
		a.owner = nil
	}
	return nil
}

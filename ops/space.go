package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/solver"
)

// A filesystem with less free space than lowSpace (or 1/20 of its size,
// if smaller), less than 1/200 of its size (but never more than
// lowShare), or fewer free inodes than lowInodes counts as full when a
// step fails on it: whatever error the step saw (ENOSPC, EIO from
// overlayfs, a command that printed its own message and exited 1), a
// full disk is the likely cause and the first thing to fix.
const (
	lowSpace  = 16 << 20
	lowShare  = 64 << 20 // so that a big disk 99.6% full is not "full"
	lowInodes = 1000
)

// DiskFullError is a failure on a filesystem that is (nearly) full.
type DiskFullError struct {
	Err error
	// Dir is the directory whose filesystem is full; Root is the gorae
	// root, named instead when Dir is on its filesystem.
	Dir, Root    string
	Avail, Total uint64 // bytes
	Inodes       bool   // out of inodes rather than bytes
	// Freed says the step saw ENOSPC and its cleanup has freed what
	// filled the disk since.
	Freed bool
}

func (e *DiskFullError) Error() string {
	state := fmt.Sprintf("is full (%s free of %s)", progress.FormatSize(int64(e.Avail)), progress.FormatSize(int64(e.Total)))
	switch {
	case e.Inodes && e.Avail >= min(lowSpace, e.Total/20):
		state = "has no free inodes left"
	case e.Freed:
		state = fmt.Sprintf("ran out of space (%s free of %s now that the partial files are removed)",
			progress.FormatSize(int64(e.Avail)), progress.FormatSize(int64(e.Total)))
	}
	var hint string
	if e.Dir == e.Root {
		hint = fmt.Sprintf("the filesystem of the gorae root %s ($GORAE_ROOT) %s; "+
			"free space (gorae prune, or gorae prune --all) or point GORAE_ROOT at a bigger filesystem", e.Root, state)
	} else {
		hint = fmt.Sprintf("the filesystem of %s %s; free space there or choose another place", e.Dir, state)
	}
	msg := e.Err.Error()
	if !strings.Contains(strings.ToLower(msg), "no space left on device") {
		hint = "no space left on device: " + hint
	}
	if strings.Contains(msg, "\n") {
		// A RUN's error ends with the command's output; the cause goes
		// after it, on a line of its own.
		return strings.TrimRight(msg, "\n") + "\n" + hint
	}
	return msg + ": " + hint
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// CheckSpace explains err as a full disk when one of dirs is on a
// filesystem that is (nearly) full, or err is ENOSPC. root is the gorae
// root: a directory on its filesystem is reported as the root, with
// gorae prune as the remedy. Call it where a step failed, before the
// step's own cleanup frees what filled the disk. nil stays nil; an
// error already explained is returned as is.
func CheckSpace(err error, root string, dirs ...string) error {
	if err == nil {
		return nil
	}
	var full *DiskFullError
	if errors.As(err, &full) || errors.Is(err, syscall.EROFS) {
		// A read-only filesystem has no free space either, but freeing
		// some is no remedy: the error says what is wrong.
		return err
	}
	if root != "" {
		dirs = append([]string{root}, dirs...)
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if e := fullAt(err, root, d); e != nil && e.low() {
			return e
		}
	}
	if errors.Is(err, syscall.ENOSPC) {
		// Full when it failed, freed since (the partial file removed):
		// the failed write's path says which filesystem it was.
		d := root
		var pe *fs.PathError
		if errors.As(err, &pe) {
			if pe.Op == "fork/exec" {
				// clone(2)'s ENOSPC is a namespace limit
				// (user.max_user_namespaces and the like), not a disk.
				return err
			}
			d = pe.Path
		}
		if d == "" {
			return err
		}
		if e := fullAt(err, root, d); e != nil {
			e.Freed = !e.low()
			return e
		}
	}
	return err
}

// fullAt measures the filesystem of d (or of its nearest existing
// parent); nil if it cannot.
func fullAt(err error, root, d string) *DiskFullError {
	for {
		var sfs unix.Statfs_t
		if unix.Statfs(d, &sfs) == nil {
			if sfs.Flags&unix.ST_RDONLY != 0 {
				return nil // read-only: never "full", whatever it shows free
			}
			e := &DiskFullError{Err: err, Dir: d, Root: root,
				Avail: sfs.Bavail * uint64(sfs.Bsize), Total: sfs.Blocks * uint64(sfs.Bsize),
				Inodes: sfs.Files > 0 && sfs.Ffree < lowInodes}
			if root != "" && sameFS(root, d) {
				e.Dir = root
			}
			return e
		}
		p := filepath.Dir(d)
		if p == d {
			return nil
		}
		d = p
	}
}

// low reports whether the filesystem counts as full.
func (e *DiskFullError) low() bool {
	return e.Total > 0 && (e.Avail < min(lowSpace, e.Total/20) || e.Avail < min(e.Total/200, lowShare) || e.Inodes)
}

func sameFS(a, b string) bool {
	var sa, sb unix.Stat_t
	return unix.Stat(a, &sa) == nil && unix.Stat(b, &sb) == nil && sa.Dev == sb.Dev
}

// spaceOp explains a failed step by a full gorae root (CheckSpace), for
// steps that fail while something else filled the disk.
type spaceOp struct {
	solver.Op[*State]
	root string
}

func (o spaceOp) Exec(ctx context.Context, inputs []*State) (*State, error) {
	s, err := o.Op.Exec(ctx, inputs)
	return s, CheckSpace(err, o.root)
}

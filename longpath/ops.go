package longpath

import (
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Lstat is os.Lstat for a path of any length.
func Lstat(p string) (fi fs.FileInfo, err error) {
	err = Do(p, func(s string) error {
		fi, err = os.Lstat(s)
		if err == nil && Long(p) {
			fi = named{fi, filepath.Base(p)}
		}
		return err
	})
	return fi, err
}

// ReadDir is os.ReadDir for a path of any length. The entries' Info
// works after it returns, whatever the length.
func ReadDir(p string) (ents []fs.DirEntry, err error) {
	err = Do(p, func(s string) error {
		ents, err = os.ReadDir(s)
		return err
	})
	if err != nil || !Long(p) && !anyLong(p, ents) {
		return ents, err
	}
	for i, e := range ents {
		ents[i] = entry{e, filepath.Join(p, e.Name())}
	}
	return ents, nil
}

// anyLong reports whether a child of directory p (whose names are ents)
// has a long path, so that os.ReadDir's lazy Info would fail for it.
func anyLong(p string, ents []fs.DirEntry) bool {
	for _, e := range ents {
		if Long(p + "/" + e.Name()) {
			return true
		}
	}
	return false
}

// Readlink is os.Readlink for a path of any length.
func Readlink(p string) (target string, err error) {
	err = Do(p, func(s string) error {
		target, err = os.Readlink(s)
		return err
	})
	return target, err
}

// OpenFile is os.OpenFile for a path of any length. The file's Name is
// p.
func OpenFile(p string, flag int, perm fs.FileMode) (*os.File, error) {
	if !Long(p) {
		return os.OpenFile(p, flag, perm)
	}
	fd := -1
	err := Do(p, func(s string) error {
		var err error
		for {
			fd, err = unix.Open(s, flag|unix.O_CLOEXEC, uint32(perm.Perm()))
			if err != unix.EINTR {
				break
			}
		}
		return pathErr("open", s, err)
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), p), nil
}

// OpenFD is unix.Open (with O_CLOEXEC) for a path of any length. It
// returns a bare descriptor, for callers that read many small files: an
// os.File's poller registration attempt and finalizer cost more than
// reading a file of a few bytes. Its error is a *fs.PathError naming p.
func OpenFD(p string, flag int) (int, error) {
	if !Long(p) {
		fd, err := openRetry(p, flag)
		return fd, pathErr("open", p, err)
	}
	fd := -1
	err := Do(p, func(s string) error {
		var err error
		fd, err = openRetry(s, flag)
		return pathErr("open", s, err)
	})
	return fd, err
}

func openRetry(p string, flag int) (int, error) {
	for {
		fd, err := unix.Open(p, flag|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// Open is os.Open for a path of any length.
func Open(p string) (*os.File, error) { return OpenFile(p, os.O_RDONLY, 0) }

// Mkdir is os.Mkdir for a path of any length.
func Mkdir(p string, perm fs.FileMode) error {
	return Do(p, func(s string) error { return os.Mkdir(s, perm) })
}

// Symlink is os.Symlink for a link path of any length.
func Symlink(target, p string) error {
	return Do(p, func(s string) error { return os.Symlink(target, s) })
}

// Lchown is os.Lchown for a path of any length.
func Lchown(p string, uid, gid int) error {
	return Do(p, func(s string) error { return os.Lchown(s, uid, gid) })
}

// Chmod is unix.Chmod (setuid, setgid and sticky bits included) for a
// path of any length.
func Chmod(p string, mode uint32) error {
	return Do(p, func(s string) error { return pathErr("chmod", s, unix.Chmod(s, mode)) })
}

// Mknod is unix.Mknod for a path of any length.
func Mknod(p string, mode uint32, dev int) error {
	return Do(p, func(s string) error { return pathErr("mknod", s, unix.Mknod(s, mode, dev)) })
}

// UtimesNano sets the access and modification times of p, not following
// a final symlink.
func UtimesNano(p string, ts []unix.Timespec) error {
	return Do(p, func(s string) error {
		return pathErr("utimes", s, unix.UtimesNanoAt(unix.AT_FDCWD, s, ts, unix.AT_SYMLINK_NOFOLLOW))
	})
}

// Lgetxattr is unix.Lgetxattr for a path of any length. Its error is the
// bare errno, as unix.Lgetxattr's.
func Lgetxattr(p, key string, buf []byte) (n int, err error) {
	err = Do(p, func(s string) error {
		n, err = unix.Lgetxattr(s, key, buf)
		return err
	})
	return n, unwrapOpen(err)
}

// Llistxattr is unix.Llistxattr for a path of any length.
func Llistxattr(p string, buf []byte) (n int, err error) {
	err = Do(p, func(s string) error {
		n, err = unix.Llistxattr(s, buf)
		return err
	})
	return n, unwrapOpen(err)
}

// Lsetxattr is unix.Lsetxattr for a path of any length.
func Lsetxattr(p, key string, value []byte, flags int) error {
	return unwrapOpen(Do(p, func(s string) error { return unix.Lsetxattr(s, key, value, flags) }))
}

// unwrapOpen gives the errno of a failed prefix open, so that callers
// comparing xattr errors with errors.Is see the same values either way.
func unwrapOpen(err error) error {
	if pe, ok := err.(*fs.PathError); ok && pe.Op == "open" {
		return pe.Err
	}
	return err
}

func pathErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: op, Path: p, Err: err}
}

// named gives a FileInfo the base name of the long path asked for.
type named struct {
	fs.FileInfo
	name string
}

func (n named) Name() string { return n.name }

// entry is a directory entry whose Info works for a long path.
type entry struct {
	fs.DirEntry
	full string
}

func (e entry) Info() (fs.FileInfo, error) { return Lstat(e.full) }

// Remove is os.Remove for a path of any length.
func Remove(p string) error {
	return Do(p, func(s string) error { return os.Remove(s) })
}

// Link is os.Link for paths of any length.
func Link(oldname, newname string) error {
	return Do(oldname, func(o string) error {
		return Do(newname, func(n string) error { return os.Link(o, n) })
	})
}

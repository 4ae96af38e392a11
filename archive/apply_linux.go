package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// os.Root has no mknod, lutimes or lsetxattr, so these operations open the
// parent directory through the root (already checked to be a real
// directory inside it) and act on the single final component relative to
// that descriptor, never following a symlink there.

func (a *applier) inParent(name string, fn func(dirfd int, base string) error) error {
	parent, base := path.Dir(name), path.Base(name)
	if name == "." {
		parent, base = ".", "."
	}
	// O_DIRECTORY: a later entry may have replaced the parent with a
	// fifo, whose open would block forever.
	d, err := a.root.OpenFile(parent, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer d.Close()
	rc, err := d.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd), base) }); err != nil {
		return err
	}
	return ferr
}

func (a *applier) mknod(name string, typ fs.FileMode, major, minor int64) error {
	var m uint32
	switch {
	case typ&fs.ModeNamedPipe != 0:
		m = unix.S_IFIFO
	case typ&fs.ModeCharDevice != 0:
		m = unix.S_IFCHR
	default:
		m = unix.S_IFBLK
	}
	dev := int(unix.Mkdev(uint32(major), uint32(minor)))
	return a.inParent(name, func(dirfd int, base string) error {
		if err := unix.Mknodat(dirfd, base, m|0o600, dev); err != nil {
			return fmt.Errorf("mknod: %w", err)
		}
		return nil
	})
}

// setXattr sets an xattr without following a final symlink. There is no
// lsetxattr relative to a descriptor on older kernels, so the path goes
// through /proc/self/fd of the parent directory: the kernel resolves that
// magic link to the directory itself, and only base is looked up in it.
func (a *applier) setXattr(name, key string, value []byte) error {
	return a.inParent(name, func(dirfd int, base string) error {
		p := "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + base
		err := unix.Lsetxattr(p, key, value, 0)
		if errors.Is(err, unix.ENOTSUP) && !IsOverlayXattr(key) {
			// The filesystem under dir cannot hold this xattr; the
			// content is still correct, as Docker also accepts.
			return nil
		}
		return err
	})
}

// getXattr reads an xattr the way setXattr sets it.
func (a *applier) getXattr(name, key string) (string, error) {
	var v string
	err := a.inParent(name, func(dirfd int, base string) error {
		buf := make([]byte, 64)
		n, err := unix.Lgetxattr("/proc/self/fd/"+strconv.Itoa(dirfd)+"/"+base, key, buf)
		if err == nil {
			v = string(buf[:n])
		}
		return err
	})
	return v, err
}

func (a *applier) setTime(name string, mtime time.Time) error {
	t := unix.Timespec{Sec: mtime.Unix(), Nsec: int64(mtime.Nanosecond())}
	ts := []unix.Timespec{t, t} // atime = mtime, as Docker restores it
	err := a.inParent(name, func(dirfd int, base string) error {
		return unix.UtimesNanoAt(dirfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return fmt.Errorf("set mtime of %s: %w", name, err)
	}
	return nil
}

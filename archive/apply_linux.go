package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Every entry is made relative to the descriptor of its parent
// directory, on its final component only, and never follows a symlink
// there: regular files and directories then get their metadata through
// their own descriptor, symlinks and device nodes through the parent's.

// dir creates directory name (base in dirfd), or keeps the directory
// already there, caches its descriptor and restores its metadata.
func (a *applier) dir(dirfd int, name, base string, h *tar.Header) error {
	fd, ok := a.dirs.cached(name)
	if !ok {
		err := a.replacing(dirfd, name, base, func() error {
			err := unix.Mkdirat(dirfd, base, 0o700)
			if errors.Is(err, unix.EEXIST) {
				// A directory over a directory only updates its
				// metadata, as tar does; anything else is replaced.
				var st unix.Stat_t
				if unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
					return nil
				}
			}
			return err
		})
		if err != nil {
			return err
		}
		if fd, err = a.dirs.openChild(dirfd, name, base); err != nil {
			return notDirError(dirfd, name, base, err)
		}
	}
	return a.metadata(fd, name, h)
}

// file writes a regular file and restores its metadata through its
// descriptor before closing it.
func (a *applier) file(ctx context.Context, dirfd int, name, base string, h *tar.Header, r io.Reader) error {
	var fd int
	err := a.replacing(dirfd, name, base, func() (err error) {
		fd, err = unix.Openat(dirfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := a.copyTo(ctx, fd, r); err != nil {
		return fmt.Errorf("write content: %w", err)
	}
	return a.metadata(fd, name, h)
}

// copyTo writes the rest of r to fd through one buffer reused for
// every file of the layer.
func (a *applier) copyTo(ctx context.Context, fd int, r io.Reader) error {
	if a.buf == nil {
		a.buf = make([]byte, 256<<10)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := r.Read(a.buf)
		for b := a.buf[:n]; len(b) > 0; {
			w, err := unix.Write(fd, b)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return err
			}
			b = b[w:]
			a.written += int64(w)
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func (a *applier) symlink(dirfd int, name, base string, h *tar.Header) error {
	err := a.replacing(dirfd, name, base, func() error {
		return unix.Symlinkat(h.Linkname, dirfd, base)
	})
	if err != nil {
		return err
	}
	return a.metadataAt(dirfd, name, base, h)
}

// link makes a hard link to a name this layer already holds. The
// target's parent is opened through the directory cache, so the target
// is never reached through a symlink or outside the root; its final
// component is linked itself, not followed.
func (a *applier) link(dirfd int, name, base string, h *tar.Header) error {
	target, err := cleanName(h.Linkname)
	if err != nil || target == "." {
		return fmt.Errorf("hard link target %q escapes the layer root", h.Linkname)
	}
	err = a.replacing(dirfd, name, base, func() error {
		// Opened on each try: removing name may have closed it.
		tfd, err := a.dirs.open(path.Dir(target), false)
		if err != nil {
			return err
		}
		return unix.Linkat(tfd, path.Base(target), dirfd, base, 0)
	})
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", h.Linkname, err)
	}
	// A hard link shares its target's inode and so its metadata.
	return nil
}

// node makes a fifo or a device node.
func (a *applier) node(dirfd int, name, base string, h *tar.Header) error {
	m := uint32(unix.S_IFIFO)
	switch h.Typeflag {
	case tar.TypeChar:
		m = unix.S_IFCHR
	case tar.TypeBlock:
		m = unix.S_IFBLK
	}
	dev := int(unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor)))
	err := a.replacing(dirfd, name, base, func() error {
		return unix.Mknodat(dirfd, base, m|0o600, dev)
	})
	if errors.Is(err, unix.EPERM) && m != unix.S_IFIFO && InUserNamespace() {
		return errDeviceInUserNS
	}
	if err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	return a.metadataAt(dirfd, name, base, h)
}

// metadata restores owner, mode, xattrs and (for non-directories) mtime
// through fd, the entry's own descriptor. Chown comes before chmod
// because chown clears setuid and setgid bits.
func (a *applier) metadata(fd int, name string, h *tar.Header) error {
	if err := unix.Fchown(fd, h.Uid, h.Gid); err != nil {
		return chownError(h, err)
	}
	if err := unix.Fchmod(fd, modeBits(h)); err != nil {
		return fmt.Errorf("set mode: %w", err)
	}
	for key, v := range xattrs(h) {
		if err := setXattrFd(fd, key, []byte(v)); err != nil {
			return fmt.Errorf("set xattr %s: %w", key, err)
		}
	}
	if h.Typeflag == tar.TypeDir {
		a.dirTimes = append(a.dirTimes, dirTime{name, h.ModTime})
		return nil
	}
	if err := futimens(fd, h.ModTime); err != nil {
		return fmt.Errorf("set mtime of %s: %w", name, err)
	}
	return nil
}

// metadataAt is metadata for a symlink or a node, which cannot be
// opened for it: each call names base in dirfd and follows no symlink.
func (a *applier) metadataAt(dirfd int, name, base string, h *tar.Header) error {
	if err := unix.Fchownat(dirfd, base, h.Uid, h.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return chownError(h, err)
	}
	if h.Typeflag != tar.TypeSymlink {
		// A symlink has no mode of its own; base is the node just made.
		if err := unix.Fchmodat(dirfd, base, modeBits(h), 0); err != nil {
			return fmt.Errorf("set mode: %w", err)
		}
	}
	for key, v := range xattrs(h) {
		if err := setXattrAt(dirfd, base, key, []byte(v)); err != nil {
			return fmt.Errorf("set xattr %s: %w", key, err)
		}
	}
	t := timespec(h.ModTime)
	if err := unix.UtimesNanoAt(dirfd, base, []unix.Timespec{t, t}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set mtime of %s: %w", name, err)
	}
	return nil
}

func chownError(h *tar.Header, err error) error {
	if errors.Is(err, unix.EINVAL) && InUserNamespace() {
		return fmt.Errorf("set owner %d:%d: the id is not mapped in gorae's user namespace; give your user a range of 65536 ids in /etc/subuid and /etc/subgid (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER) and install newuidmap (package uidmap)", h.Uid, h.Gid)
	}
	return fmt.Errorf("set owner: %w", err)
}

// modeBits is h's permission word for chmod: permissions, setuid,
// setgid and sticky.
func modeBits(h *tar.Header) uint32 {
	return uint32(UnixMode(h.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)))
}

// xattrs yields h's extended attributes (PAX SCHILY.xattr.*) but the
// overlay ones, which belong to the format Apply writes, not to layer
// content.
func xattrs(h *tar.Header) iter.Seq2[string, string] {
	return func(yield func(key, value string) bool) {
		for k, v := range h.PAXRecords {
			key, ok := strings.CutPrefix(k, "SCHILY.xattr.")
			if !ok || IsOverlayXattr(key) {
				continue
			}
			if !yield(key, v) {
				return
			}
		}
	}
}

// setXattrFd sets an xattr through the entry's own descriptor.
func setXattrFd(fd int, key string, value []byte) error {
	return xattrResult(key, unix.Fsetxattr(fd, key, value, 0))
}

// setXattrAt sets an xattr on base in dirfd without following a
// symlink there. There is no lsetxattr relative to a descriptor on
// older kernels, so the path goes through /proc/self/fd of the parent
// directory: the kernel resolves that magic link to the directory
// itself, and only base is looked up in it.
func setXattrAt(dirfd int, base, key string, value []byte) error {
	p := "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + base
	return xattrResult(key, unix.Lsetxattr(p, key, value, 0))
}

func xattrResult(key string, err error) error {
	if errors.Is(err, unix.ENOTSUP) && !IsOverlayXattr(key) {
		// The filesystem under dir cannot hold this xattr; the
		// content is still correct, as Docker also accepts.
		return nil
	}
	return err
}

// xwhiteout makes base in dirfd a whiteout in overlayfs's xattr form:
// an empty file with user.overlay.whiteout, in a directory marked
// user.overlay.opaque="x" ("holds xattr whiteouts"; "y", opaque, stays).
func xwhiteout(dirfd int, base string) error {
	fd, err := unix.Openat(dirfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	err = setXattrFd(fd, XWhiteoutXattr, []byte("y"))
	unix.Close(fd)
	if err != nil {
		return err
	}
	buf := make([]byte, 64)
	if n, err := unix.Fgetxattr(dirfd, userOverlayPrefix+"opaque", buf); err == nil && string(buf[:n]) == "y" {
		return nil
	}
	return setXattrFd(dirfd, userOverlayPrefix+"opaque", []byte("x"))
}

// removeAt removes base in dirfd and, if it is a directory, everything
// below it, without following symlinks.
func removeAt(dirfd int, base string) error {
	err := unix.Unlinkat(dirfd, base, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) {
		return err
	}
	fd, err := unix.Openat(dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), base)
	defer d.Close()
	// All names first: removing entries while reading a directory may
	// make the file system reorder it and the reading skip some.
	names, err := d.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeAt(fd, n); err != nil {
			return err
		}
	}
	return unix.Unlinkat(dirfd, base, unix.AT_REMOVEDIR)
}

func timespec(t time.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// futimens sets fd's atime and mtime to mtime, as Docker restores them.
// It is utimensat with a null path, which x/sys/unix does not offer.
func futimens(fd int, mtime time.Time) error {
	t := timespec(mtime)
	ts := [2]unix.Timespec{t, t}
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Whiteout names in a layer tar (OCI image spec, "Whiteouts").
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueMarker   = ".wh..wh..opq"
)

// Apply unpacks one uncompressed layer tar into dir in overlayfs format, so
// that dir can serve as an overlay lower directory: a whiteout ".wh.NAME"
// becomes a 0/0 character device NAME, and ".wh..wh..opq" sets
// OverlayOpaqueXattr()="y" on its directory. It returns the number of
// bytes of file content written.
//
// Apply refuses, with an error naming the entry, any entry whose path or
// hard-link target would leave dir, and any entry whose parent path (or
// whose hard-link target's parent path) goes through a symlink: dir holds only this layer's own entries, so a symlink
// in it may point at a directory that lives in another layer, and writing
// through it would put the entry in the wrong place. Symlink targets are
// stored as data and never followed. Every entry is made relative to a
// descriptor of its parent directory, opened component by component
// without following symlinks and kept open while the layer is applied
// (see dirCache), so an entry costs a handful of system calls.
//
// Mode (with setuid, setgid and sticky bits), numeric owner, mtime, xattrs
// (PAX SCHILY.xattr.*), hard links, symlinks, fifos and devices are
// restored; directory mtimes are set after their children are written.
// Xattrs in the trusted.overlay. and user.overlay. namespaces are dropped:
// they belong to the overlay format Apply writes, not to layer content.
// Apply must run as root to restore owners and devices; in a user
// namespace (rootless), owners must be mapped ids and devices, which the
// kernel refuses to create there, are left out (the sandbox's /dev is a
// tmpfs with the host's nodes anyway).
func Apply(ctx context.Context, dir string, r io.Reader) (int64, error) {
	return ApplyEach(ctx, dir, r, nil)
}

// ApplyEach is Apply, handing each tar header it reads to each (if not
// nil) before the entry is written: a caller indexes the layer in the
// same pass instead of reading it again.
func ApplyEach(ctx context.Context, dir string, r io.Reader, each func(*tar.Header)) (int64, error) {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open layer directory: open %s: %w", dir, err)
	}
	defer unix.Close(root)
	a := &applier{dirs: newDirCache(root)}
	defer a.dirs.closeAll()
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return a.written, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return a.written, fmt.Errorf("read layer tar: %w", err)
		}
		if each != nil {
			each(h)
		}
		a.dirs.trim()
		if err := a.entry(ctx, h, tr); err != nil {
			return a.written, err
		}
	}
	// Deepest first, so that setting a child's time cannot disturb the
	// parent's afterwards (it would not anyway, but renames might).
	for i := len(a.dirTimes) - 1; i >= 0; i-- {
		d := a.dirTimes[i]
		a.dirs.trim()
		fd, err := a.dirs.open(d.name, false)
		if err != nil {
			// A later entry replaced it (or a parent) with something
			// else; its time went with it.
			continue
		}
		if err := futimens(fd, d.mtime); err != nil {
			return a.written, fmt.Errorf("set mtime of %s: %w", d.name, err)
		}
	}
	return a.written, nil
}

type dirTime struct {
	name  string
	mtime time.Time
}

type applier struct {
	dirs     *dirCache
	written  int64
	dirTimes []dirTime
	buf      []byte // file content on its way from the tar to a file
}

// cleanName turns a tar entry name into a clean relative path ("." for the
// root) or reports that it leaves the root.
func cleanName(name string) (string, error) {
	n := path.Clean("/" + strings.TrimLeft(name, "/"))
	// Cleaning a rooted path removes "..", so compare with the unrooted
	// form to detect an escape rather than silently clamping it.
	if rel := path.Clean(strings.TrimLeft(name, "/")); rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("path escapes the layer root")
	}
	if n == "/" {
		return ".", nil
	}
	return n[1:], nil
}

func (a *applier) entry(ctx context.Context, h *tar.Header, r io.Reader) error {
	name, err := cleanName(h.Name)
	if err != nil {
		return fmt.Errorf("layer entry %q: %w", h.Name, err)
	}
	parent, base := path.Dir(name), path.Base(name)
	if name == "." {
		if h.Typeflag != tar.TypeDir {
			return fmt.Errorf("layer entry %q: the layer root can only be a directory", h.Name)
		}
		if err := a.metadata(a.dirs.root, name, h); err != nil {
			return fmt.Errorf("layer entry %q: %w", h.Name, err)
		}
		return nil
	}
	dirfd, err := a.dirs.open(parent, true)
	if err != nil {
		return fmt.Errorf("layer entry %q: %w", h.Name, err)
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(h.Name, dirfd, parent, base)
	}
	switch h.Typeflag {
	case tar.TypeDir:
		err = a.dir(dirfd, name, base, h)
	case tar.TypeReg: // tar.Reader reports old TypeRegA entries as TypeReg
		err = a.file(ctx, dirfd, name, base, h, r)
	case tar.TypeSymlink:
		err = a.symlink(dirfd, name, base, h)
	case tar.TypeLink:
		err = a.link(dirfd, name, base, h)
	case tar.TypeFifo, tar.TypeChar, tar.TypeBlock:
		err = a.node(dirfd, name, base, h)
	default:
		err = fmt.Errorf("unsupported tar entry type %q", h.Typeflag)
	}
	if err != nil && !errors.Is(err, errDeviceInUserNS) {
		return fmt.Errorf("layer entry %q: %w", h.Name, err)
	}
	return nil
}

// replacing runs mk, which creates base in dirfd and fails with EEXIST
// if something is there already; then it removes what is there with
// its subtree and runs mk once more. Trying first makes a fresh
// directory cost no lookup. The only exception to replacing is a
// directory over a directory, which keeps it (see dir).
func (a *applier) replacing(dirfd int, name, base string, mk func() error) error {
	err := mk()
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	if err := a.remove(dirfd, name, base); err != nil {
		return err
	}
	return mk()
}

// remove deletes name (base in dirfd) and everything below it, closing
// the cached descriptors of the directories that go with it.
func (a *applier) remove(dirfd int, name, base string) error {
	a.dirs.invalidate(name)
	if err := removeAt(dirfd, base); err != nil {
		return fmt.Errorf("replace existing entry: %w", err)
	}
	return nil
}

func (a *applier) whiteout(entry string, dirfd int, parent, base string) error {
	if base == opaqueMarker {
		if err := setXattrFd(dirfd, OverlayOpaqueXattr(), []byte("y")); err != nil {
			return fmt.Errorf("layer entry %q: mark directory opaque: %w", entry, err)
		}
		return nil
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		// Other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs) has no meaning
		// in an overlay lower directory.
		return nil
	}
	hidden := strings.TrimPrefix(base, whiteoutPrefix)
	if hidden == "" || hidden == "." || hidden == ".." {
		return fmt.Errorf("layer entry %q: invalid whiteout name", entry)
	}
	name := path.Join(parent, hidden)
	err := a.replacing(dirfd, name, hidden, func() error {
		return unix.Mknodat(dirfd, hidden, unix.S_IFCHR|0o600, 0)
	})
	if errors.Is(err, unix.EPERM) && UserOverlayXattrs() {
		// A file system that refuses even whiteout devices here (the
		// root on overlayfs, as a container's own file system is): the
		// xattr form (overlayfs "xwhiteouts", Linux 6.7).
		err = xwhiteout(dirfd, hidden)
	}
	if err != nil {
		return fmt.Errorf("layer entry %q: create whiteout: %w", entry, err)
	}
	return nil
}

// errDeviceInUserNS is node's answer for a device node in a user
// namespace, where the kernel refuses to make one: the entry is skipped.
var errDeviceInUserNS = errors.New("device nodes cannot be created in a user namespace")

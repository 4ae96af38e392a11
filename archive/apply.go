package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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
// hard-link target would leave dir, and any entry whose parent path goes
// through a symlink: dir holds only this layer's own entries, so a symlink
// in it may point at a directory that lives in another layer, and writing
// through it would put the entry in the wrong place. Symlink targets are
// stored as data and never followed. All writes resolve through os.Root.
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
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, fmt.Errorf("open layer directory: %w", err)
	}
	defer root.Close()
	a := &applier{root: root}
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
		if err := a.entry(ctx, h, tr); err != nil {
			return a.written, err
		}
	}
	// Deepest first, so that setting a child's time cannot disturb the
	// parent's afterwards (it would not anyway, but renames might).
	for i := len(a.dirTimes) - 1; i >= 0; i-- {
		d := a.dirTimes[i]
		if !a.realDir(d.name) {
			// A later entry replaced it (or a parent) with something
			// else; its time went with it.
			continue
		}
		if err := a.setTime(d.name, d.mtime); err != nil {
			return a.written, err
		}
	}
	return a.written, nil
}

type dirTime struct {
	name  string
	mtime time.Time
}

type applier struct {
	root     *os.Root
	written  int64
	dirTimes []dirTime
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
	if strings.HasPrefix(base, whiteoutPrefix) {
		if err := a.parents(parent); err != nil {
			return fmt.Errorf("layer entry %q: %w", h.Name, err)
		}
		return a.whiteout(h.Name, parent, base)
	}
	if name != "." {
		if err := a.parents(parent); err != nil {
			return fmt.Errorf("layer entry %q: %w", h.Name, err)
		}
		if err := a.clear(name, h.Typeflag == tar.TypeDir); err != nil {
			return fmt.Errorf("layer entry %q: %w", h.Name, err)
		}
	}
	if err := a.create(ctx, name, h, r); errors.Is(err, errDeviceInUserNS) {
		return nil
	} else if err != nil {
		return fmt.Errorf("layer entry %q: %w", h.Name, err)
	}
	if h.Typeflag == tar.TypeLink {
		// A hard link shares its target's inode and so its metadata.
		return nil
	}
	if err := a.metadata(name, h); err != nil {
		return fmt.Errorf("layer entry %q: %w", h.Name, err)
	}
	return nil
}

// parents makes sure every component of dir is a real directory, creating
// missing ones (root-owned, 0755, as Docker does for implied parents), and
// refuses symlinks on the way.
func (a *applier) parents(dir string) error {
	if dir == "." {
		return nil
	}
	p := ""
	for c := range strings.SplitSeq(dir, "/") {
		p = path.Join(p, c)
		fi, err := a.root.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := a.root.Mkdir(p, 0o755); err != nil {
				return fmt.Errorf("create parent directory: %w", err)
			}
		case err != nil:
			return fmt.Errorf("check parent directory: %w", err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("parent %q is a symlink; refusing to write through it", p)
		case !fi.IsDir():
			return fmt.Errorf("parent %q is not a directory", p)
		}
	}
	return nil
}

// realDir reports whether name and every parent of it are directories,
// not symlinks or anything else.
func (a *applier) realDir(name string) bool {
	p := ""
	for c := range strings.SplitSeq(name, "/") {
		p = path.Join(p, c)
		fi, err := a.root.Lstat(p)
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// clear removes whatever is at name unless both it and the new entry are
// directories (a later entry for an existing directory only updates its
// metadata, as tar does).
func (a *applier) clear(name string, dir bool) error {
	fi, err := a.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if dir && fi.IsDir() {
		return nil
	}
	if err := a.root.RemoveAll(name); err != nil {
		return fmt.Errorf("replace existing entry: %w", err)
	}
	return nil
}

func (a *applier) whiteout(entry, parent, base string) error {
	if base == opaqueMarker {
		if err := a.setXattr(parent, OverlayOpaqueXattr(), []byte("y")); err != nil {
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
	if err := a.clear(name, false); err != nil {
		return fmt.Errorf("layer entry %q: %w", entry, err)
	}
	err := a.mknod(name, fs.ModeDevice|fs.ModeCharDevice, 0, 0)
	if errors.Is(err, unix.EPERM) && UserOverlayXattrs() {
		// A file system that refuses even whiteout devices here (the
		// root on overlayfs, as a container's own file system is): the
		// xattr form (overlayfs "xwhiteouts", Linux 6.7).
		err = a.xwhiteout(name, parent)
	}
	if err != nil {
		return fmt.Errorf("layer entry %q: create whiteout: %w", entry, err)
	}
	return nil
}

// errDeviceInUserNS is create's answer for a device node in a user
// namespace, where the kernel refuses to make one: the entry is skipped.
var errDeviceInUserNS = errors.New("device nodes cannot be created in a user namespace")

// xwhiteout makes name a whiteout in overlayfs's xattr form: an empty
// file with user.overlay.whiteout, in a directory marked
// user.overlay.opaque="x" ("holds xattr whiteouts"; "y", opaque, stays).
func (a *applier) xwhiteout(name, parent string) error {
	f, err := a.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if err := a.setXattr(name, XWhiteoutXattr, []byte("y")); err != nil {
		return err
	}
	if v, _ := a.getXattr(parent, userOverlayPrefix+"opaque"); v == "y" {
		return nil
	}
	return a.setXattr(parent, userOverlayPrefix+"opaque", []byte("x"))
}

func (a *applier) create(ctx context.Context, name string, h *tar.Header, r io.Reader) error {
	switch h.Typeflag {
	case tar.TypeDir:
		if name == "." {
			return nil
		}
		err := a.root.Mkdir(name, 0o700)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return nil
	case tar.TypeReg: // tar.Reader reports old TypeRegA entries as TypeReg
		return a.file(ctx, name, r)
	case tar.TypeSymlink:
		return a.root.Symlink(h.Linkname, name)
	case tar.TypeLink:
		target, err := cleanName(h.Linkname)
		if err != nil || target == "." {
			return fmt.Errorf("hard link target %q escapes the layer root", h.Linkname)
		}
		if err := a.root.Link(target, name); err != nil {
			return fmt.Errorf("hard link to %q: %w", h.Linkname, err)
		}
		return nil
	case tar.TypeFifo:
		return a.mknod(name, fs.ModeNamedPipe, 0, 0)
	case tar.TypeChar, tar.TypeBlock:
		typ := fs.ModeDevice
		if h.Typeflag == tar.TypeChar {
			typ |= fs.ModeCharDevice
		}
		err := a.mknod(name, typ, h.Devmajor, h.Devminor)
		if errors.Is(err, unix.EPERM) && InUserNamespace() {
			return errDeviceInUserNS
		}
		return err
	default:
		return fmt.Errorf("unsupported tar entry type %q", h.Typeflag)
	}
}

func (a *applier) file(ctx context.Context, name string, r io.Reader) error {
	f, err := a.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, ctxReader{ctx, r})
	a.written += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write content: %w", err)
	}
	return nil
}

// metadata restores owner, mode, xattrs and (for non-directories) mtime.
// Chown comes before chmod because chown clears setuid and setgid bits.
func (a *applier) metadata(name string, h *tar.Header) error {
	if err := a.root.Lchown(name, h.Uid, h.Gid); err != nil {
		if errors.Is(err, unix.EINVAL) && InUserNamespace() {
			return fmt.Errorf("set owner %d:%d: the id is not mapped in gorae's user namespace; give your user a range of 65536 ids in /etc/subuid and /etc/subgid (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER) and install newuidmap (package uidmap)", h.Uid, h.Gid)
		}
		return fmt.Errorf("set owner: %w", err)
	}
	if h.Typeflag != tar.TypeSymlink {
		if err := a.root.Chmod(name, h.FileInfo().Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return fmt.Errorf("set mode: %w", err)
		}
	}
	for k, v := range h.PAXRecords {
		key, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || IsOverlayXattr(key) {
			continue
		}
		if err := a.setXattr(name, key, []byte(v)); err != nil {
			return fmt.Errorf("set xattr %s: %w", key, err)
		}
	}
	if h.Typeflag == tar.TypeDir {
		a.dirTimes = append(a.dirTimes, dirTime{name, h.ModTime})
		return nil
	}
	if err := a.setTime(name, h.ModTime); err != nil {
		return err
	}
	return nil
}

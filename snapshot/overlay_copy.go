package snapshot

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/longpath"
)

// materialize copies the tree v shows into the empty directory dst, as
// the plain-copy fallback of Prepare: whiteouts and opaque directories
// are applied by v, and modes, owners, xattrs and mtimes (to the
// nanosecond, which Diff relies on) are kept.
//
// Hard links between the lowers' files are not kept, as overlayfs (with
// index=off) breaks them on copy-up: writing one name must leave the
// others as they were, or the two modes would give different layers.
//
// Every directory copied gets the copiedMark xattr, so that Diff can
// tell a lower directory from one the command deleted and made again
// (an opaque directory, as overlayfs records it). It reports whether the
// filesystem took the marks; without them Diff writes a whiteout for
// each deleted entry instead, which gives the same tree.
func materialize(ctx context.Context, v *View, dst string) (marked bool, err error) {
	m := &materializer{ctx: ctx, v: v, dst: dst, marked: true}
	if err := m.dir("."); err != nil {
		return false, err
	}
	real, fi, err := m.entry(".")
	if err != nil || real == "" {
		return m.marked, err
	}
	return m.marked, m.meta(dst, real, fi)
}

// copiedMark is the xattr materialize puts on the directories it copies.
// It lives in the trusted namespace, which a RUN command (without
// CAP_SYS_ADMIN) can neither see nor copy, and never reaches a layer.
// Where gorae itself cannot set trusted.* (archive.UserOverlayXattrs) it
// is user.gorae.copied, which a command could see and `cp -a` would
// copy: a copied directory would then pass for one of the lowers'.
const copiedMark = "trusted.gorae.copied"

// copiedMarkName is copiedMark for this process.
func copiedMarkName() string {
	if archive.UserOverlayXattrs() {
		return "user.gorae.copied"
	}
	return copiedMark
}

type materializer struct {
	ctx    context.Context
	v      *View
	dst    string
	marked bool // every directory so far has copiedMark
}

// entry returns the real path and metadata of name's winning entry, ""
// for the root of an empty view.
func (m *materializer) entry(name string) (string, fs.FileInfo, error) {
	n, err := m.v.resolve("lstat", name, false)
	if err != nil {
		return "", nil, err
	}
	if len(n.layers) == 0 {
		return "", n.info, nil
	}
	return m.v.real(n.layers[0], n.path), n.info, nil
}

func (m *materializer) dir(p string) error {
	if err := m.ctx.Err(); err != nil {
		return err
	}
	ents, err := m.v.ReadDir(p)
	if err != nil {
		return err
	}
	for _, e := range ents {
		q := path.Join(p, e.Name())
		if err := m.copy(q); err != nil {
			return fmt.Errorf("copy %s: %w", q, err)
		}
	}
	return nil
}

func (m *materializer) copy(q string) error {
	real, fi, err := m.entry(q)
	if err != nil {
		return err
	}
	dst := filepath.Join(m.dst, q)
	st, _ := fi.Sys().(*syscall.Stat_t)
	mode := fi.Mode()
	switch {
	case mode.IsDir():
		if err := longpath.Mkdir(dst, 0o700); err != nil {
			return err
		}
		if m.marked && longpath.Lsetxattr(dst, copiedMarkName(), []byte("y"), 0) != nil {
			m.marked = false
		}
		if err := m.dir(q); err != nil {
			return err
		}
	case mode.IsRegular():
		if err := copyFile(m.ctx, real, dst); err != nil {
			return err
		}
	case mode&fs.ModeSymlink != 0:
		target, err := longpath.Readlink(real)
		if err != nil {
			return err
		}
		if err := longpath.Symlink(target, dst); err != nil {
			return err
		}
	case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe) != 0 && st != nil:
		if err := longpath.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	default:
		return nil // sockets are not content
	}
	return m.meta(dst, real, fi)
}

func copyFile(ctx context.Context, src, dst string) error {
	in, err := longpath.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := longpath.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, archive.ContextReader(ctx, in)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// meta gives dst the owner, mode, xattrs and mtime of fi (at real). The
// owner goes first, since chown clears setuid bits, and the mtime last.
func (m *materializer) meta(dst, real string, fi fs.FileInfo) error {
	uid, gid := ownerOf(fi)
	if err := longpath.Lchown(dst, int(uid), int(gid)); err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		if err := longpath.Chmod(dst, uint32(archive.UnixMode(fi.Mode()))); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	x, err := xattrs(real)
	if err != nil {
		return fmt.Errorf("read xattrs: %w", err)
	}
	for k, v := range x {
		if err := longpath.Lsetxattr(dst, k, []byte(v), 0); err != nil {
			return fmt.Errorf("set xattr %s: %w", k, err)
		}
	}
	t := unix.NsecToTimespec(fi.ModTime().UnixNano())
	if err := longpath.UtimesNano(dst, []unix.Timespec{t, t}); err != nil {
		return fmt.Errorf("set mtime: %w", err)
	}
	return nil
}

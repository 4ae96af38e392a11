package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/copier"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/longpath"
	"github.com/gorae/gorae/runner"
	"golang.org/x/sys/unix"
)

// contextMount exposes a build context (or a path in it) to a RUN
// --mount=type=bind. The command sees exactly what CacheKey hashed: the
// context as filtered by .dockerignore, with the source resolved inside
// the context (a symlink there never leads to a host path). With ignore
// patterns the visible tree is materialized as hard links under Tmp;
// without, the directory itself is bound. A read-write mount gets a
// throwaway overlay on top, so writes are allowed and the user's files are
// never changed. Everything made here is undone through undo.
func (o *runOp) contextMount(ctx context.Context, c graph.Context, m graph.Mount, undo *[]func()) (runner.Mount, error) {
	fsys, err := o.env.contextFS(c)
	if err != nil {
		return runner.Mount{}, err
	}
	src := path.Clean("/" + m.Source)[1:]
	if src == "" {
		src = "."
	}
	rel, fi, err := copier.Resolve(fsys, src, true)
	if errors.Is(err, fs.ErrNotExist) {
		return runner.Mount{}, fmt.Errorf("%s: --mount=type=bind,source=%s: not found in build context %s (or excluded by .dockerignore)", o.where(), m.Source, c.Name)
	}
	if err != nil {
		return runner.Mount{}, fmt.Errorf("%s: --mount=type=bind,source=%s: %w", o.where(), m.Source, err)
	}
	if rel == "" {
		rel = "."
	}
	host := filepath.Join(o.env.Contexts[c.Name], filepath.FromSlash(rel))
	rw := !m.ReadOnly
	if len(c.Excludes) > 0 || (rw && !fi.IsDir()) {
		tmp, err := os.MkdirTemp(o.env.Tmp, "ctxmount-")
		if err != nil {
			return runner.Mount{}, err
		}
		*undo = append(*undo, func() { os.RemoveAll(tmp) })
		dst := filepath.Join(tmp, "tree")
		// A file mounted read-write is a private copy: a link would
		// let the command write through to the user's file.
		t := &treeCopier{ctx: ctx, fsys: fsys, src: o.env.Contexts[c.Name], noLinks: rw && !fi.IsDir()}
		if err := t.copy(rel, fi, dst); err != nil {
			return runner.Mount{}, fmt.Errorf("%s: prepare bind mount of build context %s: %w", o.where(), c.Name, err)
		}
		host = dst
	}
	if !rw {
		return runner.Mount{Type: "bind", Source: host, Target: m.Target, Options: []string{"ro"}}, nil
	}
	if fi.IsDir() {
		act, err := o.env.Snapshots.Prepare(ctx, []string{host})
		if err != nil {
			return runner.Mount{}, fmt.Errorf("%s: prepare read-write bind mount of build context %s: %w", o.where(), c.Name, err)
		}
		// Registered after the hard-link tree's removal, so it runs
		// first: the overlay is unmounted before its lower goes.
		*undo = append(*undo, func() { act.Remove() })
		host = act.Merged
	}
	return runner.Mount{Type: "bind", Source: host, Target: m.Target, Options: []string{"rw"}}, nil
}

// treeCopier recreates a tree seen through an archive.FS (the filtered
// context) from its real files under src: regular files as hard links
// when possible (same file system, no noLinks), else copies; directories,
// symlinks with their modes, owners and mtimes; fifos and devices as
// nodes and sockets as empty files, as BuildKit's context transfer
// (fsutil) carries them. Paths longer than PATH_MAX are carried too.
type treeCopier struct {
	ctx     context.Context
	fsys    archive.FS
	src     string
	noLinks bool
}

func (t *treeCopier) copy(rel string, fi fs.FileInfo, dst string) error {
	if err := t.ctx.Err(); err != nil {
		return err
	}
	real := filepath.Join(t.src, filepath.FromSlash(rel))
	switch {
	case fi.IsDir():
		if err := longpath.Mkdir(dst, 0o700); err != nil {
			return err
		}
		ents, err := t.fsys.ReadDir(rel)
		if err != nil {
			return err
		}
		for _, de := range ents {
			cfi, err := de.Info()
			if err != nil {
				return err
			}
			if err := t.copy(path.Join(rel, de.Name()), cfi, filepath.Join(dst, de.Name())); err != nil {
				return err
			}
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := t.fsys.Readlink(rel)
		if err != nil {
			return err
		}
		if err := longpath.Symlink(target, dst); err != nil {
			return err
		}
	case fi.Mode().IsRegular():
		if !t.noLinks {
			err := longpath.Link(real, dst)
			if err == nil {
				return nil // the same inode: mode, owner and mtime come along
			}
			if !errors.Is(err, syscall.EXDEV) && !errors.Is(err, syscall.EPERM) {
				return err
			}
		}
		if err := copyFile(real, dst); err != nil {
			return err
		}
	case fi.Mode()&(fs.ModeNamedPipe|fs.ModeDevice) != 0:
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no device number", rel)
		}
		if err := longpath.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	default: // a socket: an empty file, as fsutil sends it
		f, err := longpath.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		f.Close()
	}
	return keepMeta(dst, fi)
}

func copyFile(src, dst string) error {
	in, err := longpath.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := longpath.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// keepMeta gives dst fi's owner, mode and mtime (a symlink: its owner).
func keepMeta(dst string, fi fs.FileInfo) error {
	uid, gid := archive.Owner(fi)
	if err := longpath.Lchown(dst, uid, gid); err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil
	}
	if err := longpath.Chmod(dst, uint32(archive.UnixMode(fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)))); err != nil {
		return err
	}
	mtime := unix.NsecToTimespec(fi.ModTime().UnixNano())
	return longpath.UtimesNano(dst, []unix.Timespec{{Nsec: unix.UTIME_OMIT}, mtime})
}

// resolveIn returns the host path of p inside the tree at dir, following
// symlinks as the tree's own root would: an absolute link in an image
// must not make a bind mount expose the host's file of that name.
func resolveIn(dir, p string) (string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	src := path.Clean("/" + p)[1:]
	if src == "" {
		return dir, nil
	}
	rel, _, err := copier.Resolve(archive.RootFS{Root: root}, src, true)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.FromSlash(rel)), nil
}

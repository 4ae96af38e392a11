package exporter

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/archive"
)

// Local exports the image's final root filesystem as plain files in the
// directory Dest, which it replaces. Owners are kept when running as root;
// otherwise files belong to the caller and device nodes, which only root
// can create, are left out with a warning through Warn.
//
// An image index (several platforms) gives one subdirectory per platform,
// named as BuildKit names them (linux_amd64, linux_arm_v7); see
// PlatformSplit.
type Local struct {
	Dest string
	// PlatformSplit is platform-split=: nil splits an index into one
	// subdirectory per platform and writes a single image at the root;
	// true puts even a single image in its platform's subdirectory; false
	// merges every platform into the root, refusing a file two platforms
	// both have.
	PlatformSplit *bool
	// Warn, if set, is told what the export left out.
	Warn func(format string, args ...any)
}

var (
	_ Exporter      = Local{}
	_ IndexExporter = Local{}
)

func (l Local) Export(ctx context.Context, img v1.Image, _ []string) error {
	ps, err := imagePart(img, l.PlatformSplit)
	if err != nil {
		return err
	}
	return l.write(ctx, ps)
}

func (l Local) ExportIndex(ctx context.Context, idx v1.ImageIndex, _ []string) error {
	ps, err := indexParts(idx, l.PlatformSplit)
	if err != nil {
		return err
	}
	return l.write(ctx, ps)
}

func (l Local) write(ctx context.Context, ps []part) error {
	if l.Dest == "" || l.Dest == Stdout {
		return fmt.Errorf("local output needs a dest directory; use type=tar to write to stdout")
	}
	return writeDir(ctx, l.Dest, func(dir string) error {
		plans, err := planParts(ctx, ps)
		if err != nil {
			return fmt.Errorf("write root filesystem to %s: %w", l.Dest, err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return fmt.Errorf("open %s: %w", dir, err)
		}
		defer root.Close()
		// One extractor per directory written: merged platforms share
		// the root, so that directory modes (a read-only one, say) are
		// applied only after every platform has written below them.
		xs := map[string]*extractor{}
		var order []*extractor
		for i, p := range ps {
			x := xs[p.dir]
			if x == nil {
				if x, err = newExtractor(root, p.dir); err != nil {
					return fmt.Errorf("write root filesystem to %s: %w", l.Dest, err)
				}
				defer x.root.Close()
				xs[p.dir] = x
				order = append(order, x)
			}
			if err := plans[i].emit(ctx, p.filter(x.entry)); err != nil {
				return fmt.Errorf("write root filesystem to %s: %w", l.Dest, err)
			}
		}
		var devices []string
		for _, x := range order {
			if err := x.finishDirs(); err != nil {
				return fmt.Errorf("write root filesystem to %s: %w", l.Dest, err)
			}
			for _, d := range x.devices {
				devices = append(devices, path.Join(x.dir, d))
			}
		}
		if len(devices) > 0 && l.Warn != nil {
			l.Warn("type=local,dest=%s: %d device node(s) not written (/%s first): only root can create them; use type=tar to keep them", l.Dest, len(devices), devices[0])
		}
		return nil
	})
}

// newExtractor returns an extractor writing below root's subdirectory
// dir, which it creates as a plain 0755 directory, or below root itself
// when dir is "". Its root is the caller's to close.
func newExtractor(root *os.Root, dir string) (*extractor, error) {
	if dir == "" {
		dir = "."
	} else {
		if err := root.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		if err := root.Chmod(dir, 0o755); err != nil {
			return nil, fmt.Errorf("chmod %s: %w", dir, err)
		}
	}
	sub, err := root.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	// Rootless, the files stay the user's: image owners would become
	// subordinate ids the user cannot even delete.
	return &extractor{root: sub, dir: dir, owners: os.Geteuid() == 0 && !archive.InUserNamespace()}, nil
}

// Tar exports the image's final root filesystem as one tar file (or to
// stdout with Dest "-"), with the owners, modes and links of the image
// whoever runs the export. An index is split by platform as Local's is.
type Tar struct {
	Dest string
	// PlatformSplit is platform-split=, as Local's.
	PlatformSplit *bool
	// Out receives the tar when Dest is "-"; os.Stdout when nil.
	Out io.Writer
}

var (
	_ Exporter      = Tar{}
	_ IndexExporter = Tar{}
)

func (t Tar) Export(ctx context.Context, img v1.Image, _ []string) error {
	ps, err := imagePart(img, t.PlatformSplit)
	if err != nil {
		return err
	}
	return t.write(ctx, ps)
}

func (t Tar) ExportIndex(ctx context.Context, idx v1.ImageIndex, _ []string) error {
	ps, err := indexParts(idx, t.PlatformSplit)
	if err != nil {
		return err
	}
	return t.write(ctx, ps)
}

func (t Tar) write(ctx context.Context, ps []part) error {
	if t.Dest == "" {
		return fmt.Errorf("tar output needs a dest file, or \"-\" for stdout")
	}
	return writeFile(ctx, t.Dest, t.Out, func(w io.Writer) error {
		plans, err := planParts(ctx, ps)
		if err == nil {
			tw := archive.NewWriter(w, archive.WriterOptions{})
			for i, p := range ps {
				if err = tarPart(ctx, tw, p, plans[i]); err != nil {
					break
				}
			}
			if err == nil {
				err = tw.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("write root filesystem to %s: %w", displayDest(t.Dest), err)
		}
		return nil
	})
}

// tarPart writes one platform's filesystem to tw, below its subdirectory
// if it has one.
func tarPart(ctx context.Context, tw *archive.Writer, p part, plan *flatPlan) error {
	if p.dir != "" {
		h := &tar.Header{Typeflag: tar.TypeDir, Name: p.dir, Mode: 0o755, ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	return plan.emit(ctx, p.filter(func(h *tar.Header, r io.Reader) error {
		if h.Name == "." {
			return nil
		}
		if p.dir != "" {
			h.Name = path.Join(p.dir, h.Name)
			if h.Typeflag == tar.TypeLink {
				h.Linkname = path.Join(p.dir, h.Linkname)
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.ReadFrom(r); err != nil {
				return fmt.Errorf("write %s: %w", h.Name, err)
			}
		}
		return nil
	}))
}

// extractor writes flattened entries below root. Each path arrives at most
// once; directories may arrive after their contents, so their mode, owner
// and times are applied at the end, deepest first.
type extractor struct {
	root    *os.Root
	dir     string // root's path below the destination, "." for itself
	owners  bool
	dirs    []*tar.Header
	devices []string // left out: not root
}

func (x *extractor) entry(h *tar.Header, r io.Reader) error {
	name := h.Name
	if name != "." {
		if err := x.root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", path.Dir(name), err)
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := x.root.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", name, err)
		}
		x.dirs = append(x.dirs, h)
		return nil
	case tar.TypeReg:
		if err := x.file(name, r); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := x.root.Symlink(h.Linkname, name); err != nil {
			return fmt.Errorf("create symlink %s: %w", name, err)
		}
		if x.owners {
			if err := x.root.Lchown(name, h.Uid, h.Gid); err != nil {
				return fmt.Errorf("chown %s: %w", name, err)
			}
		}
		return nil
	case tar.TypeLink:
		// The link shares its target's inode, whose metadata is already set.
		if err := x.root.Link(h.Linkname, name); err != nil {
			return fmt.Errorf("create hard link %s: %w", name, err)
		}
		return nil
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if h.Typeflag != tar.TypeFifo && !x.owners {
			x.devices = append(x.devices, name)
			return nil
		}
		if err := x.mknod(h); err != nil {
			return err
		}
	default:
		return nil
	}
	return x.meta(h)
}

func (x *extractor) file(name string, r io.Reader) (err error) {
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", name, cerr)
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// mknod creates a device or fifo through its parent directory's
// descriptor, which os.Root opened without leaving the tree; the last
// component is never followed.
func (x *extractor) mknod(h *tar.Header) error {
	dir, err := x.root.Open(path.Dir(h.Name))
	if err != nil {
		return fmt.Errorf("open %s: %w", path.Dir(h.Name), err)
	}
	defer dir.Close()
	mode := uint32(h.Mode & 0o7777)
	switch h.Typeflag {
	case tar.TypeChar:
		mode |= syscall.S_IFCHR
	case tar.TypeBlock:
		mode |= syscall.S_IFBLK
	case tar.TypeFifo:
		mode |= syscall.S_IFIFO
	}
	p := fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), path.Base(h.Name))
	if err := syscall.Mknod(p, mode, mkdev(h.Devmajor, h.Devminor)); err != nil {
		return fmt.Errorf("create device %s: %w", h.Name, err)
	}
	return nil
}

// mkdev encodes a Linux device number as glibc's makedev does.
func mkdev(major, minor int64) int {
	return int((major&0xfff)<<8 | (major&^0xfff)<<32 | minor&0xff | (minor&^0xff)<<12)
}

// meta applies owner, mode and times; chown comes first because it
// clears set-id bits.
func (x *extractor) meta(h *tar.Header) error {
	if x.owners {
		if err := x.root.Lchown(h.Name, h.Uid, h.Gid); err != nil {
			return fmt.Errorf("chown %s: %w", h.Name, err)
		}
	}
	mode := h.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if err := x.root.Chmod(h.Name, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", h.Name, err)
	}
	mtime := h.ModTime
	atime := h.AccessTime
	if atime.IsZero() {
		atime = mtime
	}
	if mtime.IsZero() {
		return nil
	}
	if err := x.root.Chtimes(h.Name, atime, mtime); err != nil {
		return fmt.Errorf("set times of %s: %w", h.Name, err)
	}
	return nil
}

func (x *extractor) finishDirs() error {
	sort.SliceStable(x.dirs, func(i, j int) bool {
		return depth(x.dirs[i].Name) > depth(x.dirs[j].Name)
	})
	for _, h := range x.dirs {
		if err := x.meta(h); err != nil {
			return err
		}
	}
	return nil
}

func depth(p string) int {
	if p == "." {
		return -1
	}
	return strings.Count(p, "/")
}

package remotecache

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/ops"
)

// packMount writes the cache mount directory dir into the content store as
// a zstd-compressed deterministic tar (archive.Writer, entries in name
// order) and returns the blob; ok is false when dir does not exist. Equal
// trees give equal blobs, so an unchanged mount is never uploaded again:
// the root entry's mtime, which every use of the mount bumps (GC's "last
// used"), is written as 0. Owners, modes, mtimes, symlinks and hard links
// are kept; sockets and devices are left out (a RUN recreates them), and
// so are names starting with ".wh.", which unpacking would read as
// whiteouts. m shows the packing as a transfer.
func packMount(ctx context.Context, c *content.Store, dir string, jobs int, m mountMeter) (l ops.Layer, ok bool, err error) {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return ops.Layer{}, false, nil
	}
	if err != nil {
		return ops.Layer{}, false, err
	}
	if !fi.IsDir() {
		return ops.Layer{}, false, fmt.Errorf("%s is not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return ops.Layer{}, false, err
	}
	defer root.Close()
	cw, err := c.NewWriter()
	if err != nil {
		return ops.Layer{}, false, err
	}
	defer cw.Close()
	comp, err := archive.NewCompressor(cw, archive.Zstd, jobs)
	if err != nil {
		return ops.Layer{}, false, err
	}
	diff := sha256.New()
	pw := &packWriter{w: io.MultiWriter(diff, comp), m: m}
	defer func() { pw.end(err == nil) }()
	bw := bufio.NewWriterSize(pw, 1<<20)
	p := &mountPacker{ctx: ctx, fsys: archive.RootFS{Root: root}, w: archive.NewWriter(bw, archive.WriterOptions{}), links: map[[2]uint64]string{}}
	err = p.entry(".", fi)
	if err == nil {
		err = p.w.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := comp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("compress: %w", cerr)
	}
	if err != nil {
		return ops.Layer{}, false, err
	}
	d, size, err := cw.Commit(v1.Hash{})
	if err != nil {
		return ops.Layer{}, false, err
	}
	return ops.Layer{Digest: d, DiffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diff.Sum(nil))},
		Size: size, MediaType: mountLayerType}, true, nil
}

type mountPacker struct {
	ctx   context.Context
	fsys  archive.RootFS
	w     *archive.Writer
	links map[[2]uint64]string // (dev, inode) → first name, for hard links
}

// entry writes name (fi is its Lstat) and, for a directory, its children
// in name order.
func (p *mountPacker) entry(name string, fi fs.FileInfo) error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	if strings.HasPrefix(path.Base(name), ".wh.") {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner information", name)
	}
	h := &tar.Header{Name: name, Mode: archive.UnixMode(fi.Mode()), Uid: int(st.Uid), Gid: int(st.Gid), ModTime: fi.ModTime()}
	if name == "." {
		h.ModTime = time.Unix(0, 0)
	}
	m := fi.Mode()
	switch {
	case m.IsDir():
		h.Typeflag = tar.TypeDir
	case m.IsRegular():
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		if st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := p.links[key]; ok {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
			} else {
				p.links[key] = name
			}
		}
	case m&fs.ModeSymlink != 0:
		h.Typeflag = tar.TypeSymlink
		target, err := p.fsys.Readlink(name)
		if err != nil {
			return err
		}
		h.Linkname = target
	case m&fs.ModeNamedPipe != 0:
		h.Typeflag = tar.TypeFifo
	default:
		return nil // sockets and devices
	}
	if err := p.w.WriteHeader(h); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeReg:
		return p.content(name, h.Size)
	case tar.TypeDir:
		ents, err := p.fsys.ReadDir(name)
		if err != nil {
			return err
		}
		for _, e := range ents {
			child := path.Join(name, e.Name())
			cfi, err := p.fsys.Lstat(child)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			if err != nil {
				return err
			}
			if err := p.entry(child, cfi); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *mountPacker) content(name string, size int64) error {
	f, err := p.fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := p.w.ReadFrom(archive.ContextReader(p.ctx, io.LimitReader(f, size)))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("%s changed size while being packed (is another build using the mount?)", name)
	}
	return nil
}

// unpackMount creates dir from the mount blob l read from open: the tar
// is unpacked into a temporary directory beside dir while the compressed
// bytes are hashed, and renamed into place only if they match l.Digest.
// An existing dir (another build seeded or created it first) is never
// replaced.
func unpackMount(ctx context.Context, dir string, l ops.Layer, open func(context.Context) (io.ReadCloser, error)) error {
	rc, err := open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".new-seed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	h := sha256.New()
	body := io.TeeReader(io.LimitReader(rc, l.Size+1), h)
	aerr := applyMount(ctx, tmp, body)
	if _, err := io.Copy(io.Discard, body); err != nil && aerr == nil {
		aerr = err
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if got := (v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}); got != l.Digest {
		return errBadDigest(l.Digest, got)
	}
	if aerr != nil {
		return aerr
	}
	return renameNoReplace(tmp, dir)
}

func applyMount(ctx context.Context, dir string, r io.Reader) error {
	dr, f, err := archive.Decompress(r)
	if err != nil {
		return err
	}
	defer dr.Close()
	if f != archive.Zstd && f != archive.Gzip {
		return fmt.Errorf("not a compressed tar (%s)", f)
	}
	_, err = archive.Apply(ctx, dir, dr)
	return err
}

// renameNoReplace moves the directory tmp to dir unless dir exists: a
// plain rename would replace an empty directory another build just
// created and is about to use.
func renameNoReplace(tmp, dir string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) { // a filesystem without RENAME_NOREPLACE
		if _, serr := os.Lstat(dir); serr == nil {
			return nil
		}
		err = os.Rename(tmp, dir)
	}
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		return nil // another build won: its copy is as good
	}
	if err != nil {
		return fmt.Errorf("move cache mount into place: %w", err)
	}
	return nil
}

package snapshot

import (
	"archive/tar"
	"context"
	"fmt"
	"io/fs"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/longpath"
)

// writeChanges writes changes to w as tar entries. Regular files that
// share an inode with one already written become hard links to it.
// Sockets, which a layer cannot hold, are left out and their names
// added to dropped.
func writeChanges(ctx context.Context, w *archive.Writer, changes []change, dropped *[]string) error {
	lw := &layerWriter{w: w, links: map[[2]uint64]string{}, dropped: dropped}
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.kind != changeEntry {
			// Whiteouts carry no metadata of their own; a fixed one keeps
			// equal changes byte-equal.
			h := &tar.Header{Typeflag: tar.TypeReg, Name: c.name, ModTime: time.Unix(0, 0)}
			if err := w.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		if err := lw.entry(ctx, c); err != nil {
			return fmt.Errorf("write layer entry %s: %w", c.name, err)
		}
	}
	return nil
}

// layerWriter writes the entries of one diff, with buffers kept from
// one file to the next: a RUN that writes thousands of small files
// otherwise spends more on allocating them than on reading the files.
type layerWriter struct {
	w       *archive.Writer
	links   map[[2]uint64]string // first name of each multiply linked inode written
	dropped *[]string
	buf     []byte // file content on its way to w
	xbuf    []byte // xattr names and values
}

// copyBufSize bounds each read of a file's content.
const copyBufSize = 128 << 10

func (lw *layerWriter) entry(ctx context.Context, c change) error {
	fi := c.fi
	if fi == nil {
		var err error
		if fi, err = longpath.Lstat(c.src); err != nil {
			return err
		}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("no owner information for %s", c.src)
	}
	h := &tar.Header{
		Name:    c.name,
		Mode:    archive.UnixMode(fi.Mode()),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: fi.ModTime(),
	}
	m := fi.Mode()
	switch {
	case m.IsDir():
		h.Typeflag = tar.TypeDir
	case m.IsRegular():
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		if st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := lw.links[key]; ok {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
			} else {
				lw.links[key] = c.name
			}
		}
	case m&fs.ModeSymlink != 0:
		h.Typeflag = tar.TypeSymlink
		var err error
		if h.Linkname, err = longpath.Readlink(c.src); err != nil {
			return err
		}
	case m&fs.ModeCharDevice != 0:
		h.Typeflag = tar.TypeChar
		h.Devmajor, h.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case m&fs.ModeDevice != 0:
		h.Typeflag = tar.TypeBlock
		h.Devmajor, h.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case m&fs.ModeNamedPipe != 0:
		h.Typeflag = tar.TypeFifo
	default:
		// A socket cannot be in a layer (tar has no type for it);
		// BuildKit leaves it out silently, gorae tells the caller.
		*lw.dropped = append(*lw.dropped, c.name)
		return nil
	}
	// A file whose content goes in is opened first, so that its xattrs
	// are read through the descriptor rather than by path again.
	xf := xattrFile{path: c.src, fd: -1}
	if h.Typeflag == tar.TypeReg {
		fd, err := longpath.OpenFD(c.src, unix.O_RDONLY|unix.O_NOFOLLOW)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		xf.fd = fd
	}
	x, err := readXattrs(xf, &lw.xbuf)
	if err != nil {
		return fmt.Errorf("read xattrs: %w", err)
	}
	for k, v := range x {
		if h.PAXRecords == nil {
			h.PAXRecords = make(map[string]string, len(x))
		}
		h.PAXRecords["SCHILY.xattr."+k] = v
	}
	if err := lw.w.WriteHeader(h); err != nil {
		return err
	}
	if xf.fd < 0 {
		return nil
	}
	return lw.content(ctx, xf.fd, h.Size)
}

// content copies the size bytes of the file open at fd to the tar. It
// asks for one byte more than is left, so that a file that grew since
// it was stat'ed is caught in the same read that finds its end; a file
// of a few bytes takes a single read.
func (lw *layerWriter) content(ctx context.Context, fd int, size int64) error {
	if lw.buf == nil {
		lw.buf = make([]byte, copyBufSize)
	}
	var total int64
	for {
		if total > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		want := int(min(int64(len(lw.buf)), size+1-total))
		n, err := unix.Read(fd, lw.buf[:want])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if n == 0 {
			break
		}
		if keep := min(int64(n), size-total); keep > 0 {
			if _, err := lw.w.Write(lw.buf[:keep]); err != nil {
				return err
			}
		}
		total += int64(n)
		if total > size || total == size && n < want {
			// Past the end, or a short read that ended at it.
			break
		}
	}
	if total != size {
		return fmt.Errorf("file changed size while being written (%d bytes or more, not %d): stop every process of the snapshot before Diff", total, size)
	}
	return nil
}

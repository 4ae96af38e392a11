package snapshot

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
	links := map[[2]uint64]string{}
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
		if err := writeEntry(ctx, w, c, links, dropped); err != nil {
			return fmt.Errorf("write layer entry %s: %w", c.name, err)
		}
	}
	return nil
}

func writeEntry(ctx context.Context, w *archive.Writer, c change, links map[[2]uint64]string, dropped *[]string) error {
	fi, err := longpath.Lstat(c.src)
	if err != nil {
		return err
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
	x, err := xattrs(c.src)
	if err != nil {
		return fmt.Errorf("read xattrs: %w", err)
	}
	for k, v := range x {
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords["SCHILY.xattr."+k] = v
	}
	m := fi.Mode()
	switch {
	case m.IsDir():
		h.Typeflag = tar.TypeDir
	case m.IsRegular():
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		if st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := links[key]; ok {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
			} else {
				links[key] = c.name
			}
		}
	case m&fs.ModeSymlink != 0:
		h.Typeflag = tar.TypeSymlink
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
		*dropped = append(*dropped, c.name)
		return nil
	}
	if err := w.WriteHeader(h); err != nil {
		return err
	}
	if h.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := longpath.OpenFile(c.src, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := w.ReadFrom(archive.ContextReader(ctx, f))
	if err != nil {
		return err
	}
	if n != h.Size {
		return fmt.Errorf("file changed size while being written (%d bytes, not %d): stop every process of the snapshot before Diff", n, h.Size)
	}
	return nil
}

func lgetxattr(p, key string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := longpath.Lgetxattr(p, key, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
}

package copier

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

	"github.com/gorae/gorae/archive"
)

// extract plans the entries of the archive at p (resolved, regular) in
// src under Dest, as ADD does for a local tar (plain or compressed). It
// reports false, planning nothing, when p is not a tar archive.
//
// As Docker's untar: Dest is created as a directory whatever its spelling
// (owned by --chown, else root); entries keep their modes, mtimes and
// owners (--chown replaces the owners, --chmod does not apply); parent
// directories the archive implies but does not hold are created 0755
// root:root; entry paths resolve through symlinks already in the
// destination or earlier in the archive, and never leave the root.
func (j *job) extract(ctx context.Context, src Source, p string) (bool, error) {
	f, err := src.FS.Open(p)
	if err != nil {
		return false, fmt.Errorf("open /%s: %w", p, err)
	}
	defer f.Close()
	rc, _, err := archive.Decompress(f)
	if err != nil {
		// Not a readable compressed stream: Docker copies it as a file.
		return false, nil
	}
	defer rc.Close()
	r, ok, err := archive.IsTar(rc)
	if err != nil || !ok {
		return false, nil
	}
	meta := dirMeta{mode: fs.ModeDir | 0o755}
	if j.chown != nil {
		meta.uid, meta.gid = j.chown.uid, j.chown.gid
	}
	dest, err := j.mkdirAll(j.op.Dest, meta)
	if err != nil {
		return false, err
	}
	implied := dirMeta{mode: fs.ModeDir | 0o755}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("%s /%s: read archive: %w", j.instr, p, err)
		}
		name := clean(h.Name)
		if name == "" {
			continue
		}
		parent, err := j.mkdirAll(join(dest, path.Dir("/" + name)[1:]), implied)
		if err != nil {
			return false, fmt.Errorf("%s /%s: %w", j.instr, p, err)
		}
		target := join(parent, path.Base(name))
		if err := j.putArchived(tr, h, dest, target); err != nil {
			return false, fmt.Errorf("%s /%s: %s: %w", j.instr, p, h.Name, err)
		}
	}
}

func (j *job) putArchived(tr *tar.Reader, h *tar.Header, dest, target string) error {
	e := &entry{spoolOff: -1, hdr: tar.Header{
		Typeflag: h.Typeflag,
		Mode:     h.Mode & 0o7777,
		Uid:      h.Uid,
		Gid:      h.Gid,
		ModTime:  h.ModTime,
		Devmajor: h.Devmajor,
		Devminor: h.Devminor,
	}}
	for k, v := range h.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if e.hdr.PAXRecords == nil {
				e.hdr.PAXRecords = map[string]string{}
			}
			e.hdr.PAXRecords[k] = v
		}
	}
	if j.chown != nil {
		e.hdr.Uid, e.hdr.Gid = j.chown.uid, j.chown.gid
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		e.hdr.Typeflag, e.hdr.Size = tar.TypeReg, h.Size
		off, err := j.spoolCopy(tr, h.Size)
		if err != nil {
			return err
		}
		e.spoolOff = off
	case tar.TypeDir, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
	case tar.TypeSymlink:
		e.hdr.Linkname = h.Linkname
	case tar.TypeLink:
		// The link target is named relative to the archive root.
		lt, _, err := resolve(j.dest, join(dest, clean(h.Linkname)), false)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if t, ok := j.dest.entries[lt]; ok && t.hdr.Typeflag == tar.TypeReg {
			if t.link == nil {
				j.items++
				t.link = &linkKey{item: j.items, ino: uint64(len(j.dest.entries))}
			}
			c := *t
			c.hdr = t.hdr
			j.dest.put(target, &c)
			return nil
		}
		e.hdr.Linkname = lt
	default:
		// Global PAX headers and the like carry no file.
		return nil
	}
	j.dest.put(target, e)
	return nil
}

// spoolCopy appends n bytes of r to the job's spool file, where extracted
// content waits for the sorted write, and returns their offset.
func (j *job) spoolCopy(r io.Reader, n int64) (int64, error) {
	if j.spool == nil {
		f, err := os.CreateTemp(j.tmp, "gorae-add-*")
		if err != nil {
			return 0, fmt.Errorf("create spool file: %w", err)
		}
		j.spool = f
	}
	off, err := j.spool.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("spool archive content: %w", err)
	}
	if _, err := io.CopyN(j.spool, r, n); err != nil {
		return 0, fmt.Errorf("spool archive content: %w", err)
	}
	return off, nil
}

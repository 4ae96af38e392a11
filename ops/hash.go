package ops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"syscall"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/cache"
)

// hashPath digests every file the source pattern p names in fsys: paths,
// types, modes, link targets and contents (never mtimes). A non-nil rec
// keeps every file's content digest or link target (--explain).
func (e *Env) hashPath(ctx context.Context, name string, fsys archive.FS, p string, rec *SourceDigest) (string, error) {
	matches, err := glob(fsys, p)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	var line []byte
	// The walk computes each file's content digest and each link's
	// target as it lists (directories in parallel); what is left here is
	// formatting, in order, each entry as the walk hands it over.
	leaf := func(rel string, fi fs.FileInfo) (string, error) {
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return fsys.Readlink(rel)
		case fi.Mode().IsRegular():
			return e.fileDigest(ctx, name, fsys, rel, fi)
		}
		return "", nil
	}
	for _, m := range matches {
		err := walk(ctx, fsys, m, leaf, func(en treeEntry) {
			rel, mode := en.rel, en.mode
			// "len:path mode " then the link target, the content digest
			// or nothing, and a newline: unambiguous without a separator
			// that paths cannot contain.
			line = strconv.AppendInt(line[:0], int64(len(rel)), 10)
			line = append(line, ':')
			line = append(line, rel...)
			line = append(line, ' ')
			line = strconv.AppendUint(line, uint64(uint32(mode)), 8)
			line = append(line, ' ')
			switch {
			case mode&fs.ModeSymlink != 0:
				line = strconv.AppendInt(line, int64(len(en.value)), 10)
				line = append(line, ':')
				line = append(line, en.value...)
			case mode.IsRegular():
				line = append(line, en.value...)
			}
			line = append(line, '\n')
			h.Write(line)
			rec.add(rel, mode, en.value)
		})
		if err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func (e *Env) fileDigest(ctx context.Context, ctxName string, fsys archive.FS, rel string, fi fs.FileInfo) (string, error) {
	var id cache.FileID
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id = cache.FileID{int64(st.Dev), int64(st.Ino), st.Size, st.Mtim.Nano(), st.Ctim.Nano()}
	}
	stats := e.Stats[ctxName]
	if stats != nil {
		if d, ok := stats.Get(rel, id); ok {
			return d, nil
		}
	}
	f, err := fsys.Open(rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	// A buffer the size of the file, up to io.Copy's 32 KB: io.Copy
	// would allocate 32 KB for every file of the context, a gigabyte of
	// garbage for 30,000 small files.
	buf := make([]byte, min(fi.Size(), 32<<10)+1)
	if _, err := io.CopyBuffer(h, archive.ContextReader(ctx, f), buf); err != nil {
		return "", fmt.Errorf("read %s: %w", rel, err)
	}
	d := hex.EncodeToString(h.Sum(nil))
	if stats != nil {
		stats.Put(rel, id, d)
	}
	return d, nil
}

// glob expands a COPY source pattern against fsys. A pattern without
// wildcards is returned as is, existing or not (the copy reports a
// missing source with its own message).
func glob(fsys archive.FS, p string) ([]string, error) {
	clean := strings.TrimPrefix(path.Clean("/"+p), "/")
	if clean == "" {
		return []string{"."}, nil
	}
	if !strings.ContainsAny(clean, "*?[\\") {
		return []string{clean}, nil
	}
	parts := strings.Split(clean, "/")
	cur := []string{"."}
	for _, part := range parts {
		var next []string
		for _, dir := range cur {
			if !strings.ContainsAny(part, "*?[\\") {
				next = append(next, path.Join(dir, part))
				continue
			}
			ents, err := fsys.ReadDir(dir)
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				continue // nothing matches below a missing path or a file
			}
			if err != nil {
				return nil, err
			}
			for _, de := range ents {
				ok, err := path.Match(part, de.Name())
				if err != nil {
					return nil, fmt.Errorf("bad source pattern %q: %w", p, err)
				}
				if ok {
					next = append(next, path.Join(dir, de.Name()))
				}
			}
		}
		cur = next
	}
	return cur, nil
}

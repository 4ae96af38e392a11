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
	"strings"
	"syscall"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/cache"
	"github.com/gorae/gorae/copier"
)

// hashPath digests every file the source pattern p names in fsys: paths,
// types, modes, link targets and contents (never mtimes).
func (e *Env) hashPath(ctx context.Context, name string, fsys archive.FS, p string) (string, error) {
	matches, err := glob(fsys, p)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range matches {
		err := walk(fsys, m, func(rel string, fi fs.FileInfo) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			fmt.Fprintf(h, "%d:%s %o ", len(rel), rel, uint32(fi.Mode()))
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := fsys.Readlink(rel)
				if err != nil {
					return err
				}
				fmt.Fprintf(h, "%d:%s\n", len(target), target)
			case fi.Mode().IsRegular():
				d, err := e.fileDigest(ctx, name, fsys, rel, fi)
				if err != nil {
					return err
				}
				fmt.Fprintf(h, "%s\n", d)
			default:
				fmt.Fprintln(h)
			}
			return nil
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
	if _, err := io.Copy(h, archive.ContextReader(ctx, f)); err != nil {
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
			if err != nil {
				continue
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

// walk visits p and, if it is a directory, everything below it in
// lexical order. A missing p is skipped: the copy itself reports it.
// Children are described by their directory entries, so a large tree
// costs one getdents and one fstatat per file, not a path walk each.
//
// A source that is a symlink is followed (inside the context), as the
// copy follows it, so the key changes with what it points to.
func walk(fsys archive.FS, p string, fn func(string, fs.FileInfo) error) error {
	resolved, fi, err := copier.Resolve(fsys, p, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if resolved == "" {
		resolved = "."
	}
	return walkInfo(fsys, resolved, fi, fn)
}

func walkInfo(fsys archive.FS, p string, fi fs.FileInfo, fn func(string, fs.FileInfo) error) error {
	if err := fn(p, fi); err != nil {
		return err
	}
	if !fi.IsDir() {
		return nil
	}
	ents, err := fsys.ReadDir(p)
	if err != nil {
		return err
	}
	for _, de := range ents {
		child := path.Join(p, de.Name())
		cfi, err := de.Info()
		if err != nil {
			return err
		}
		if err := walkInfo(fsys, child, cfi, fn); err != nil {
			return err
		}
	}
	return nil
}

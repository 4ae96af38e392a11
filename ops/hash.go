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
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/cache"
	"github.com/gorae/gorae/copier"
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
	for _, m := range matches {
		entries, err := walk(ctx, fsys, m)
		if err != nil {
			return "", err
		}
		vals := rec.part(entries)
		for i, en := range entries {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			rel, fi := en.rel, en.fi
			// "len:path mode " then the link target, the content digest
			// or nothing, and a newline: unambiguous without a separator
			// that paths cannot contain.
			line = strconv.AppendInt(line[:0], int64(len(rel)), 10)
			line = append(line, ':')
			line = append(line, rel...)
			line = append(line, ' ')
			line = strconv.AppendUint(line, uint64(uint32(fi.Mode())), 8)
			line = append(line, ' ')
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := fsys.Readlink(rel)
				if err != nil {
					return "", err
				}
				line = strconv.AppendInt(line, int64(len(target)), 10)
				line = append(line, ':')
				line = append(line, target...)
				if vals != nil {
					vals[i] = target
				}
			case fi.Mode().IsRegular():
				d, err := e.fileDigest(ctx, name, fsys, rel, fi)
				if err != nil {
					return "", err
				}
				line = append(line, d...)
				if vals != nil {
					vals[i] = d
				}
			}
			line = append(line, '\n')
			h.Write(line)
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

// walk lists p and, if it is a directory, everything below it in lexical
// depth-first order. A missing p is an empty list: the copy itself
// reports it. Children are described by their directory entries, so a
// large tree costs one getdents and one fstatat per file, not a path walk
// each, and directories are listed concurrently: a warm build's context
// check is nothing but these system calls.
//
// A source that is a symlink is followed (inside the context), as the
// copy follows it, so the key changes with what it points to.
func walk(ctx context.Context, fsys archive.FS, p string) ([]treeEntry, error) {
	resolved, fi, err := copier.Resolve(fsys, p, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if resolved == "" {
		resolved = "."
	}
	l := lister{fsys: fsys, slots: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
	return l.list(ctx, resolved, fi)
}

type treeEntry struct {
	rel string
	fi  fs.FileInfo
}

// lister lists trees with up to cap(slots) directories read at once.
type lister struct {
	fsys  archive.FS
	slots chan struct{}
}

func (l *lister) list(ctx context.Context, p string, fi fs.FileInfo) ([]treeEntry, error) {
	out := []treeEntry{{p, fi}}
	if !fi.IsDir() {
		return out, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ents, err := l.fsys.ReadDir(p)
	if err != nil {
		return nil, err
	}
	type sub struct {
		entries []treeEntry
		err     error
		done    chan struct{}
	}
	subs := make([]*sub, len(ents))
	var firstErr error
	for i, de := range ents {
		child := path.Join(p, de.Name())
		cfi, err := de.Info()
		if err != nil {
			firstErr = err
			break
		}
		s := &sub{entries: []treeEntry{{child, cfi}}, done: make(chan struct{})}
		subs[i] = s
		if !cfi.IsDir() {
			close(s.done)
			continue
		}
		select {
		case l.slots <- struct{}{}:
			go func() {
				defer close(s.done)
				s.entries, s.err = l.list(ctx, child, cfi)
				<-l.slots
			}()
		default: // every slot busy: list it here
			s.entries, s.err = l.list(ctx, child, cfi)
			close(s.done)
		}
	}
	for _, s := range subs {
		if s == nil {
			continue
		}
		<-s.done
		if s.err != nil && firstErr == nil {
			firstErr = s.err
		}
		out = append(out, s.entries...)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

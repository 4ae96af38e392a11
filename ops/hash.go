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
	"sync"
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
	// The walk computes each file's content digest and each link's
	// target as it lists (directories in parallel); what is left here is
	// formatting, in order.
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
		entries, err := walk(ctx, fsys, m, leaf)
		if err != nil {
			return "", err
		}
		for _, en := range entries {
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
	buf := copyBufs.Get().(*[]byte)
	_, err = io.CopyBuffer(h, archive.ContextReader(ctx, f), *buf)
	copyBufs.Put(buf)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", rel, err)
	}
	d := hex.EncodeToString(h.Sum(nil))
	if stats != nil {
		stats.Put(rel, id, d)
	}
	return d, nil
}

// copyBufs are the read buffers of fileDigest: io.Copy would allocate
// 32 KB for every file of the context, a gigabyte of garbage for
// 30,000 files.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

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

// walk lists p and, if it is a directory, everything below it in lexical
// depth-first order. A missing p is an empty list: the copy itself
// reports it. Children are described by their directory entries, so a
// large tree costs one getdents and one fstatat per file, not a path walk
// each, and directories are listed concurrently: a warm build's context
// check is nothing but these system calls.
//
// A source that is a symlink is followed (inside the context), as the
// copy follows it, so the key changes with what it points to.
func walk(ctx context.Context, fsys archive.FS, p string, leaf func(string, fs.FileInfo) (string, error)) ([]treeEntry, error) {
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
	l := lister{fsys: fsys, leaf: leaf, slots: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
	return l.list(ctx, resolved, fi)
}

// treeEntry is one listed entry. It keeps the mode, not the FileInfo:
// each FileInfo holds a whole stat buffer (and keeps its directory's
// listing alive), some 170 bytes a file that the hash never reads again.
type treeEntry struct {
	rel   string
	value string // what leaf returned for it (never called for directories)
	mode  fs.FileMode
}

// lister lists trees with up to cap(slots) directories read at once,
// calling leaf on every entry that is not a directory.
type lister struct {
	fsys  archive.FS
	leaf  func(rel string, fi fs.FileInfo) (string, error)
	slots chan struct{}
}

func (l *lister) list(ctx context.Context, p string, fi fs.FileInfo) ([]treeEntry, error) {
	if !fi.IsDir() {
		v, err := l.leaf(p, fi)
		if err != nil {
			return nil, err
		}
		return []treeEntry{{p, v, fi.Mode()}}, nil
	}
	out := []treeEntry{{rel: p, mode: fi.Mode()}}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ents, err := archive.ReadDirInfo(l.fsys, p)
	if err != nil {
		return nil, err
	}
	// A file is described in place; a subdirectory is listed by another
	// goroutine when a slot is free, else here. Its entries are spliced
	// in, in order, once it is done.
	type sub struct {
		at      int // index in out before which its entries go
		entries []treeEntry
		err     error
		done    chan struct{}
	}
	var subs []*sub
	var firstErr error
	for _, cfi := range ents {
		child := path.Join(p, cfi.Name())
		if !cfi.IsDir() {
			v, err := l.leaf(child, cfi)
			if err != nil {
				firstErr = err
				break
			}
			out = append(out, treeEntry{child, v, cfi.Mode()})
			continue
		}
		s := &sub{at: len(out)}
		subs = append(subs, s)
		select {
		case l.slots <- struct{}{}:
			s.done = make(chan struct{})
			go func() {
				defer close(s.done)
				s.entries, s.err = l.list(ctx, child, cfi)
				<-l.slots
			}()
		default: // every slot busy: list it here
			s.entries, s.err = l.list(ctx, child, cfi)
		}
	}
	n := len(out)
	for _, s := range subs {
		if s.done != nil {
			<-s.done
		}
		if s.err != nil && firstErr == nil {
			firstErr = s.err
		}
		n += len(s.entries)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if len(subs) == 0 {
		return out, nil
	}
	merged := make([]treeEntry, 0, n)
	prev := 0
	for _, s := range subs {
		merged = append(merged, out[prev:s.at]...)
		merged = append(merged, s.entries...)
		prev = s.at
	}
	return append(merged, out[prev:]...), nil
}

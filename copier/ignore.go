package copier

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/gorae/gorae/archive"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// ReadDockerignore parses a .dockerignore file the way Docker does:
// comments and blank lines are dropped, patterns are trimmed and cleaned
// (a leading "/" or "./" removed), and a leading "!" is kept.
func ReadDockerignore(r io.Reader) ([]string, error) {
	pats, err := ignorefile.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read .dockerignore: %w", err)
	}
	return pats, nil
}

// ReadIgnoreFile reads the first of candidates that exists (BuildKit's
// order: DOCKERFILE.dockerignore, then CONTEXT/.dockerignore) and returns
// its patterns and its size; none and 0 when no candidate exists.
func ReadIgnoreFile(candidates ...string) ([]string, int, error) {
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read %s: %w", p, err)
		}
		ex, err := ReadDockerignore(bytes.NewReader(b))
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", p, err)
		}
		return ex, len(b), nil
	}
	return nil, 0, nil
}

// ContextFS wraps a build context with .dockerignore patterns
// (patternmatcher syntax: "**", "!" negation). Excluded paths do not
// exist for Lstat, ReadDir and Open; an excluded directory stays visible
// only when a "!" pattern brings back something inside it, as Docker
// sends the parents of re-included files. Open checks only the name it is
// given: callers resolve symlinks themselves (the copier does).
func ContextFS(fsys archive.FS, excludes []string) (archive.FS, error) {
	if len(excludes) == 0 {
		return fsys, nil
	}
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return nil, fmt.Errorf("parse .dockerignore patterns: %w", err)
	}
	return &contextFS{fsys: fsys, pm: pm, hidden: map[string]bool{}}, nil
}

type contextFS struct {
	fsys archive.FS
	mu   sync.Mutex // patternmatcher is not safe for concurrent use
	pm   *patternmatcher.PatternMatcher
	// hidden memoizes the decision for excluded directories, which needs
	// a walk when "!" patterns exist.
	hidden map[string]bool
}

var _ archive.InfoDirFS = (*contextFS)(nil)

func (c *contextFS) isHidden(name string) (bool, error) {
	if name == "." || name == "" {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hiddenLocked(name)
}

func (c *contextFS) hiddenLocked(name string) (bool, error) {
	if h, ok := c.hidden[name]; ok {
		return h, nil
	}
	ex, err := c.pm.MatchesOrParentMatches(name)
	if err != nil {
		return false, fmt.Errorf("match .dockerignore patterns: %w", err)
	}
	if !ex || !c.pm.Exclusions() {
		return ex, nil
	}
	fi, err := c.fsys.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return true, nil
	}
	// An excluded directory with exceptions below it must be read to
	// know: one that cannot be is an error, never silently hidden.
	ents, err := c.fsys.ReadDir(name)
	if err != nil {
		return false, err
	}
	hidden := true
	for _, e := range ents {
		h, err := c.hiddenLocked(name + "/" + e.Name())
		if err != nil {
			return false, err
		}
		if !h {
			hidden = false
			break
		}
	}
	c.hidden[name] = hidden
	return hidden, nil
}

func notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

func (c *contextFS) Lstat(name string) (fs.FileInfo, error) {
	if h, err := c.isHidden(name); err != nil || h {
		if err != nil {
			return nil, err
		}
		return nil, notExist("lstat", name)
	}
	return c.fsys.Lstat(name)
}

func (c *contextFS) Readlink(name string) (string, error) {
	if h, err := c.isHidden(name); err != nil || h {
		if err != nil {
			return "", err
		}
		return "", notExist("readlink", name)
	}
	return c.fsys.Readlink(name)
}

func (c *contextFS) Open(name string) (fs.File, error) {
	if h, err := c.isHidden(name); err != nil || h {
		if err != nil {
			return nil, err
		}
		return nil, notExist("open", name)
	}
	return c.fsys.Open(name)
}

func (c *contextFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if h, err := c.isHidden(name); err != nil || h {
		if err != nil {
			return nil, err
		}
		return nil, notExist("readdir", name)
	}
	ents, err := c.fsys.ReadDir(name)
	if err != nil {
		return nil, err
	}
	return visible(c, name, ents, fs.DirEntry.Name)
}

// ReadDirInfo is ReadDir with the entries' metadata, through the
// underlying file system's fast path when it has one.
func (c *contextFS) ReadDirInfo(name string) ([]fs.FileInfo, error) {
	if h, err := c.isHidden(name); err != nil || h {
		if err != nil {
			return nil, err
		}
		return nil, notExist("readdir", name)
	}
	infos, err := archive.ReadDirInfo(c.fsys, name)
	if err != nil {
		return nil, err
	}
	return visible(c, name, infos, fs.FileInfo.Name)
}

// visible keeps the entries of directory dir that .dockerignore does not
// hide.
func visible[E any](c *contextFS, dir string, ents []E, nameOf func(E) string) ([]E, error) {
	out := ents[:0:0]
	for _, e := range ents {
		child := nameOf(e)
		if dir != "." {
			child = dir + "/" + child
		}
		h, err := c.isHidden(child)
		if err != nil {
			return nil, err
		}
		if !h {
			out = append(out, e)
		}
	}
	return out, nil
}

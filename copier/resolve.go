package copier

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gorae/gorae/archive"
)

// maxSymlinks bounds symlink resolution, as Linux's ELOOP does.
const maxSymlinks = 255

// linkReader is the part of archive.FS that path resolution needs; the
// destination view (planned entries over the destination stage) has it too.
type linkReader interface {
	Lstat(name string) (fs.FileInfo, error)
	Readlink(name string) (string, error)
}

// clean returns name as a clean path relative to the root: ".." cannot
// climb above the root and a leading "/" is dropped ("" is the root).
func clean(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// lstat is fsys.Lstat with "" meaning the root.
func lstat(fsys linkReader, name string) (fs.FileInfo, error) {
	if name == "" {
		return fsys.Lstat(".")
	}
	return fsys.Lstat(name)
}

// resolve walks name inside fsys, resolving every symlink on the way
// inside the root: an absolute target restarts at the root and ".." stops
// at it, so nothing resolves outside. The last component is followed
// only when followLast is set. It returns the resolved path and its
// Lstat; when something does not exist the error wraps fs.ErrNotExist and
// the path is where it would be (the resolved existing prefix plus the
// rest), which is where a copy creates it.
func resolve(fsys linkReader, name string, followLast bool) (string, fs.FileInfo, error) {
	comps := strings.Split(clean(name), "/")
	cur := ""
	links := 0
	var fi fs.FileInfo
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			if cur == "." {
				cur = ""
			}
			continue
		}
		next := join(cur, c)
		st, err := lstat(fsys, next)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				rest := clean(strings.Join(append([]string{next}, comps...), "/"))
				return rest, nil, &fs.PathError{Op: "lstat", Path: "/" + rest, Err: fs.ErrNotExist}
			}
			return "", nil, err
		}
		if st.Mode()&fs.ModeSymlink != 0 && (len(comps) > 0 || followLast) {
			links++
			if links > maxSymlinks {
				return "", nil, &fs.PathError{Op: "resolve", Path: "/" + clean(name), Err: syscall.ELOOP}
			}
			target, err := fsys.Readlink(next)
			if err != nil {
				return "", nil, fmt.Errorf("readlink /%s: %w", next, err)
			}
			if strings.HasPrefix(target, "/") {
				cur = ""
			}
			comps = append(strings.Split(target, "/"), comps...)
			continue
		}
		if len(comps) > 0 && !st.IsDir() && hasRealComponent(comps) {
			return "", nil, &fs.PathError{Op: "lstat", Path: "/" + next, Err: syscall.ENOTDIR}
		}
		cur = next
		fi = st
	}
	if fi == nil {
		st, err := lstat(fsys, cur)
		if err != nil {
			return "", nil, err
		}
		fi = st
	}
	return cur, fi, nil
}

func hasRealComponent(comps []string) bool {
	for _, c := range comps {
		if c != "" && c != "." {
			return true
		}
	}
	return false
}

// hasWildcards reports whether name has a filepath.Match metacharacter
// that is not escaped, as BuildKit decides whether a source is a pattern.
func hasWildcards(name string) bool {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '*', '?', '[':
			return true
		case '\\':
			i++
		}
	}
	return false
}

// expand returns the paths of fsys matching pattern, matched per
// component with filepath.Match and walking through symlinked
// directories; the returned paths keep the names as matched (a matched
// symlink is returned as itself, not its target). Nothing matching is not
// an error.
func expand(fsys readDirFS, pattern string) ([]string, error) {
	paths := []string{""}
	for _, c := range strings.Split(clean(pattern), "/") {
		if c == "" {
			continue
		}
		var next []string
		if !hasWildcards(c) {
			for _, p := range paths {
				next = append(next, join(p, c))
			}
			paths = next
			continue
		}
		if _, err := filepath.Match(c, ""); err != nil {
			return nil, fmt.Errorf("bad source pattern %q: %w", pattern, err)
		}
		for _, p := range paths {
			dir, fi, err := resolve(fsys, p, true)
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				continue // nothing matches below a missing path
			}
			if err != nil {
				return nil, err
			}
			if !fi.IsDir() {
				continue
			}
			ents, err := fsys.ReadDir(dirName(dir))
			if err != nil {
				return nil, fmt.Errorf("read directory /%s: %w", dir, err)
			}
			for _, e := range ents {
				if ok, _ := filepath.Match(c, e.Name()); ok {
					next = append(next, join(p, e.Name()))
				}
			}
		}
		paths = next
	}
	if len(paths) == 1 && paths[0] == "" {
		return nil, nil
	}
	return paths, nil
}

type readDirFS interface {
	linkReader
	ReadDir(name string) ([]fs.DirEntry, error)
}

// dirName maps the root "" to "." for FS calls.
func dirName(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// Resolve resolves name inside fsys as COPY does: every symlink on the way
// is followed inside the root (the last one too when followLast). It
// returns the resolved path and its Lstat; a missing path gives an error
// wrapping fs.ErrNotExist together with the path where it would be.
func Resolve(fsys archive.FS, name string, followLast bool) (string, fs.FileInfo, error) {
	return resolve(fsys, name, followLast)
}

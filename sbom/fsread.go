package sbom

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/gorae/gorae/archive"
)

// maxDBSize caps what a package database read may hold in memory.
const maxDBSize = 256 << 20

// errTooManyLinks is returned when resolving a path meets more symlinks
// than Linux would follow.
var errTooManyLinks = errors.New("too many levels of symbolic links")

// lstatFS is what archive.FS, os.DirFS and fstest.MapFS offer beyond
// fs.FS: Lstat lets resolve see symlinks instead of following them.
type lstatFS interface {
	Lstat(name string) (fs.FileInfo, error)
}

// readlinkFS is fs.ReadLinkFS's ReadLink; archive.FS spells it Readlink.
type readlinkFS interface {
	ReadLink(name string) (string, error)
}

type archiveReadlinkFS interface {
	Readlink(name string) (string, error)
}

func readlink(fsys fs.FS, name string) (string, error) {
	switch l := fsys.(type) {
	case readlinkFS:
		return l.ReadLink(name)
	case archiveReadlinkFS:
		return l.Readlink(name)
	}
	return "", &fs.PathError{Op: "readlink", Path: name, Err: errors.ErrUnsupported}
}

// resolve returns name with every symlink in it replaced by its target,
// read as the image would read it: absolute targets start at the tree's
// root and ".." stops there, so the result always names a file inside
// fsys. A file system without Lstat cannot show its links: then name is
// returned as it is, and the FS itself must confine them (archive.FS
// and os.Root's FS do).
func resolve(fsys fs.FS, name string) (string, error) {
	lfs, ok := fsys.(lstatFS)
	if !ok {
		return name, nil
	}
	var done []string
	todo := strings.Split(name, "/")
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := path.Join(append(done, c)...)
		fi, err := lfs.Lstat(cur)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !fi.IsDir() && hasComponent(todo) {
				return "", &fs.PathError{Op: "resolve", Path: name, Err: fs.ErrNotExist}
			}
			done = append(done, c)
			continue
		}
		if links++; links > 40 {
			return "", &fs.PathError{Op: "resolve", Path: name, Err: errTooManyLinks}
		}
		target, err := readlink(fsys, cur)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = done[:0]
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// existing is resolve for a name that must exist.
func existing(fsys fs.FS, name string) (string, error) {
	real, err := resolve(fsys, name)
	if err != nil {
		return "", err
	}
	if _, err := fs.Stat(fsys, real); err != nil {
		return "", err
	}
	return real, nil
}

// hasComponent reports whether parts still name a file below the current
// one.
func hasComponent(parts []string) bool {
	for _, p := range parts {
		if p != "" && p != "." {
			return true
		}
	}
	return false
}

// openInTree opens name, reading its symlinks as the image would. An
// archive.FS does that itself (its Open follows links only within the
// tree), in one call; where it refuses a link instead (os.Root's
// RootFS refuses absolute targets and targets above the root), and on
// any other FS, resolve reads the links first.
func openInTree(fsys fs.FS, name string) (fs.File, error) {
	if _, ok := fsys.(archive.FS); ok {
		f, err := fsys.Open(name)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
	}
	real, err := resolve(fsys, name)
	if err != nil {
		return nil, err
	}
	return fsys.Open(real)
}

// readFile reads the regular file name (slash-separated, relative to the
// root of fsys), its links resolved inside the tree. It refuses anything
// but a regular file and files larger than limit.
func readFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := openInTree(fsys, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("not a regular file")}
	}
	if fi.Size() > limit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%d bytes is more than the %d a package database may hold", fi.Size(), limit)}
	}
	b := make([]byte, 0, fi.Size()+1) // +1: ReadAll's EOF read needs no growth
	b, err = readAll(b, io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("more than the %d bytes a package database may hold", limit)}
	}
	return b, nil
}

// readAll is io.ReadAll into b's spare capacity.
func readAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// readOptional is readFile where a missing file is no error: it returns
// nil, nil.
func readOptional(fsys fs.FS, name string, limit int64) ([]byte, error) {
	b, err := readFile(fsys, name, limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

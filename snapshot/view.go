package snapshot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/longpath"
)

// maxSymlinks bounds symlink resolution, as the kernel's MAXSYMLINKS.
const maxSymlinks = 40

// View is an archive.FS over a stack of overlay-format directories, read
// as overlayfs would merge them, in user space: an entry in a higher
// directory hides the same name below; a 0/0 character device hides the
// name; a directory marked trusted.overlay.opaque hides everything below
// it; directories merge. Symlinks in intermediate components (and the
// final one for Stat and Open) resolve inside the view, absolute targets
// from the view's root and ".." stopping there, so nothing outside the
// stack is ever reached. FileInfo.Sys() is the winning entry's
// *syscall.Stat_t, so owners come through.
//
// The directories must not change while the View is used; snapshot
// directories never do. Opaque markers are archive.OverlayOpaqueXattr():
// reading trusted.overlay.opaque needs root; without it they are not seen.
type View struct {
	dirs []string // top first
}

var _ archive.FS = (*View)(nil)

// NewView returns a View over dirs, bottom first (the order Unpack
// returns). No dirs is an empty tree.
func NewView(dirs []string) *View {
	top := slices.Clone(dirs)
	slices.Reverse(top)
	return &View{dirs: top}
}

// node is a resolved name: for a directory, every layer (top first) whose
// directory merges into it; otherwise the single winning layer.
type node struct {
	path   string // clean, relative, "." for the root
	layers []int
	info   fs.FileInfo
}

func (n *node) isDir() bool { return n.info.IsDir() }

func (v *View) real(layer int, p string) string { return filepath.Join(v.dirs[layer], p) }

// root is the merged root directory.
func (v *View) root() (*node, error) {
	n := &node{path: "."}
	for i := range v.dirs {
		fi, err := longpath.Lstat(v.dirs[i])
		if err != nil {
			return nil, fmt.Errorf("read snapshot layer: %w", err)
		}
		if n.info == nil {
			n.info = fi
		}
		n.layers = append(n.layers, i)
		if opaque(v.real(i, ".")) {
			break
		}
	}
	if n.info == nil {
		n.info = emptyRoot{}
	}
	return n, nil
}

// child looks name up in directory d as overlayfs does.
func (v *View) child(d *node, name string) (*node, error) {
	p := path.Join(d.path, name)
	var n *node
	for _, i := range d.layers {
		fi, err := longpath.Lstat(v.real(i, p))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == nil {
			if isWhiteout(fi) || (isEmptyFile(fi) && xwhiteouts(v.real(i, d.path)) && isXWhiteout(v.real(i, p))) {
				return nil, fs.ErrNotExist
			}
			n = &node{path: p, layers: []int{i}, info: fi}
			if !fi.IsDir() || opaque(v.real(i, p)) {
				return n, nil
			}
			continue
		}
		// Below a directory, only directories merge; anything else
		// (a file, a whiteout) ends the stack.
		if !fi.IsDir() {
			break
		}
		n.layers = append(n.layers, i)
		if opaque(v.real(i, p)) {
			break
		}
	}
	if n == nil {
		return nil, fs.ErrNotExist
	}
	return n, nil
}

// resolve walks name from the root, following symlinks in intermediate
// components and, when follow is set, in the final one.
func (v *View) resolve(op, name string, follow bool) (*node, error) {
	return resolve[*node](v, op, name, follow)
}

func (v *View) isDir(n *node) bool { return n.isDir() }

func (v *View) isSymlink(n *node) bool { return n.info.Mode()&fs.ModeSymlink != 0 }

func (v *View) readlink(n *node) (string, error) {
	return longpath.Readlink(v.real(n.layers[0], n.path))
}

// tree is what resolve needs of a merged tree of nodes N, so that View
// (over directories) and IndexView (over layer indexes) resolve names
// with the same code and therefore the same semantics.
type tree[N any] interface {
	root() (N, error)
	child(dir N, name string) (N, error) // fs.ErrNotExist when absent
	isDir(n N) bool
	isSymlink(n N) bool
	readlink(n N) (string, error)
}

// resolve walks name from the root of t, following symlinks in
// intermediate components and, when follow is set, in the final one:
// absolute targets restart at the root, ".." stops there, and more than
// maxSymlinks links is ELOOP.
func resolve[N any](t tree[N], op, name string, follow bool) (N, error) {
	var zero N
	if !fs.ValidPath(name) {
		return zero, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	fail := func(err error) (N, error) { return zero, &fs.PathError{Op: op, Path: name, Err: err} }
	root, err := t.root()
	if err != nil {
		return fail(err)
	}
	stack := []N{root}
	todo := splitPath(name)
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		cur := stack[len(stack)-1]
		switch c {
		case ".":
			continue
		case "..":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if !t.isDir(cur) {
			return fail(syscall.ENOTDIR)
		}
		n, err := t.child(cur, c)
		if err != nil {
			return fail(err)
		}
		if t.isSymlink(n) && (len(todo) > 0 || follow) {
			if links++; links > maxSymlinks {
				return fail(syscall.ELOOP)
			}
			target, err := t.readlink(n)
			if err != nil {
				return fail(err)
			}
			if strings.HasPrefix(target, "/") {
				stack = stack[:1]
			}
			todo = append(splitPath(target), todo...)
			continue
		}
		stack = append(stack, n)
	}
	return stack[len(stack)-1], nil
}

func splitPath(p string) []string {
	var out []string
	for c := range strings.SplitSeq(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// Lstat returns the winning entry for name, not following a final symlink.
func (v *View) Lstat(name string) (fs.FileInfo, error) {
	n, err := v.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return named{n.info, path.Base(name)}, nil
}

// Stat is Lstat following a final symlink inside the view.
func (v *View) Stat(name string) (fs.FileInfo, error) {
	n, err := v.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	return named{n.info, path.Base(name)}, nil
}

// Readlink returns the target of the symlink name.
func (v *View) Readlink(name string) (string, error) {
	n, err := v.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.info.Mode()&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return longpath.Readlink(v.real(n.layers[0], n.path))
}

// ReadDir lists the merged directory name, sorted, without whiteouts.
// Like RootFS, it follows a final symlink to a directory.
func (v *View) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := v.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: syscall.ENOTDIR}
	}
	return v.merge(n)
}

func (v *View) merge(n *node) ([]fs.DirEntry, error) {
	seen := map[string]bool{}
	var out []fs.DirEntry
	for _, i := range n.layers {
		dir := v.real(i, n.path)
		ents, err := longpath.ReadDir(dir)
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: n.path, Err: err}
		}
		xw := xwhiteouts(dir)
		for _, e := range ents {
			if seen[e.Name()] {
				continue
			}
			seen[e.Name()] = true
			if e.Type()&fs.ModeCharDevice != 0 || (xw && e.Type().IsRegular()) {
				fi, err := e.Info()
				if err != nil {
					return nil, err
				}
				if isWhiteout(fi) || (isEmptyFile(fi) && isXWhiteout(filepath.Join(dir, e.Name()))) {
					continue
				}
			}
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Open opens name for reading, following symlinks inside the view. A
// directory is returned as an fs.ReadDirFile over the merged listing.
func (v *View) Open(name string) (fs.File, error) {
	n, err := v.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		ents, err := v.merge(n)
		if err != nil {
			return nil, err
		}
		return &dirFile{info: named{n.info, path.Base(name)}, ents: ents}, nil
	}
	// O_NOFOLLOW: the entry was resolved as a non-symlink; never let the
	// host resolve anything at the last step.
	f, err := longpath.OpenFile(v.real(n.layers[0], n.path), os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return f, nil
}

func isWhiteout(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

func isEmptyFile(fi fs.FileInfo) bool { return fi.Mode().IsRegular() && fi.Size() == 0 }

// xwhiteouts reports whether directory p may hold whiteouts in xattr form
// (archive.XWhiteoutXattr): it is marked user.overlay.opaque="x".
func xwhiteouts(p string) bool {
	buf := make([]byte, 4)
	n, err := longpath.Lgetxattr(p, "user.overlay.opaque", buf)
	return err == nil && string(buf[:n]) == "x"
}

// isXWhiteout reports whether the empty file p is a whiteout in xattr
// form.
func isXWhiteout(p string) bool {
	_, err := longpath.Lgetxattr(p, archive.XWhiteoutXattr, nil)
	return err == nil
}

func opaque(p string) bool {
	buf := make([]byte, 4)
	n, err := longpath.Lgetxattr(p, archive.OverlayOpaqueXattr(), buf)
	return err == nil && string(buf[:n]) == "y"
}

// named reports the name asked for, as os.Stat does, whatever the name of
// the entry a symlink led to.
type named struct {
	fs.FileInfo
	name string
}

func (n named) Name() string { return n.name }

// emptyRoot is the root of a View over no directories.
type emptyRoot struct{}

func (emptyRoot) Name() string       { return "." }
func (emptyRoot) Size() int64        { return 0 }
func (emptyRoot) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (emptyRoot) ModTime() time.Time { return time.Time{} }
func (emptyRoot) IsDir() bool        { return true }
func (emptyRoot) Sys() any           { return nil }

// dirFile is an open merged directory.
type dirFile struct {
	info fs.FileInfo
	ents []fs.DirEntry
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: syscall.EISDIR}
}
func (d *dirFile) Close() error { return nil }

func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		out := d.ents
		d.ents = nil
		return out, nil
	}
	if len(d.ents) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(d.ents))
	out := d.ents[:k]
	d.ents = d.ents[k:]
	return out, nil
}

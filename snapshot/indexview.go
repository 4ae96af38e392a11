package snapshot

import (
	"archive/tar"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
)

// IndexView is an archive.FS over a stack of layer indexes, bottom first,
// that answers every metadata question (Lstat, Stat, ReadDir, Readlink)
// without unpacking anything. It reads the OCI and overlay semantics from
// the tar entries themselves: ".wh.NAME" hides NAME from lower layers;
// ".wh..wh..opq" in a directory hides the lower layers' children of that
// directory; an upper entry replaces a lower one, a non-directory hiding
// everything under the same path below it; a directory merged across
// layers takes its metadata from the top-most layer that has it; an
// implied parent directory (no entry of its own in a layer) is a 0755
// root directory, as archive.Apply creates it in that layer's directory.
// Each layer is replayed as Apply would write it, and entries Apply would
// refuse are left out, so an IndexView shows what a View over the same
// layers unpacked shows: same names, types, modes, owners, sizes of
// files and symlinks, link targets and mtimes. Names resolve with View's
// code (symlinks followed inside the view, ".." stopping at the root).
//
// The merged tree is built once by NewIndexView; lookups cost a binary
// search of a directory's listing per path component, and the view is
// read-only afterwards, so it is safe for concurrent use. A hard link
// reports its target's metadata. Nodes hold their base name (a slice of
// the entry's name) and their parent, not their path: the view of a
// 300,000-file layer would otherwise hold 300,000 more paths, and a map
// of them.
type IndexView struct {
	top  *vnode
	open func(name string) (fs.File, error)
}

var _ archive.FS = (*IndexView)(nil)

// vnode is a name in the merged tree.
type vnode struct {
	name   string   // "." for the root
	parent *vnode   // nil for the root
	e      *Entry   // nil for an implied directory
	list   []*vnode // directories: children sorted by name
}

// path is n's clean path in the view ("." for the root).
func (n *vnode) path() string {
	if n.parent == nil {
		return "."
	}
	size := len(n.name)
	for p := n.parent; p.parent != nil; p = p.parent {
		size += len(p.name) + 1
	}
	b := make([]byte, size)
	i := size
	for p := n; p.parent != nil; p = p.parent {
		i -= len(p.name)
		copy(b[i:], p.name)
		if i > 0 {
			i--
			b[i] = '/'
		}
	}
	return string(b)
}

func (n *vnode) isDir() bool { return n.e == nil || n.e.Typeflag == tar.TypeDir }

// NewIndexView returns the merged view of layers, bottom first. Open of
// a non-directory calls open with the name resolved inside the view (no
// symlink left in it); the caller implements it over the unpacked chain,
// typically with a View. A nil open makes such opens fail. The view keeps
// pointers into layers, which must not change afterwards.
func NewIndexView(layers [][]Entry, open func(name string) (fs.File, error)) *IndexView {
	root := &vnode{name: "."}
	for _, entries := range layers {
		t := newLayerTree()
		for i := range entries {
			// Apply would fail the whole layer on this entry; the
			// index is still the best account of the rest.
			_ = t.add(&entries[i])
		}
		root.e = t.root.e
		merge(root, t.root)
	}
	return &IndexView{top: root, open: open}
}

// merge lays one layer's directory src over the merged directory dst, as
// overlayfs shows an upper directory over a lower one. Both listings are
// walked in name order, so the merged one is sorted as it is built.
func merge(dst *vnode, src *lnode) {
	names := make([]string, 0, len(src.kids))
	for name := range src.kids {
		names = append(names, name)
	}
	slices.Sort(names)
	var old []*vnode
	if !src.opaque {
		old = dst.list
	}
	out := make([]*vnode, 0, len(old)+len(names))
	i := 0
	for _, name := range names {
		for i < len(old) && old[i].name < name {
			out = append(out, old[i])
			i++
		}
		var prev *vnode
		if i < len(old) && old[i].name == name {
			prev = old[i]
			i++
		}
		switch c := src.kids[name]; {
		case c.whiteout:
			// hides prev
		case !c.dir:
			out = append(out, &vnode{name: name, parent: dst, e: c.e})
		default:
			d := prev
			if d == nil || !d.isDir() {
				d = &vnode{name: name, parent: dst}
			}
			d.e = c.e
			merge(d, c)
			out = append(out, d)
		}
	}
	dst.list = append(out, old[i:]...)
}

// The tree methods let resolve (view.go) walk an IndexView.

func (v *IndexView) root() (*vnode, error) { return v.top, nil }

func (v *IndexView) child(d *vnode, name string) (*vnode, error) {
	i, ok := slices.BinarySearchFunc(d.list, name, func(c *vnode, name string) int { return strings.Compare(c.name, name) })
	if !ok {
		return nil, fs.ErrNotExist
	}
	return d.list[i], nil
}

func (v *IndexView) isDir(n *vnode) bool { return n.isDir() }

func (v *IndexView) isSymlink(n *vnode) bool { return n.e != nil && n.e.Typeflag == tar.TypeSymlink }

func (v *IndexView) readlink(n *vnode) (string, error) { return n.e.Linkname, nil }

// Lstat returns the merged entry for name, not following a final symlink.
func (v *IndexView) Lstat(name string) (fs.FileInfo, error) {
	n, err := resolve[*vnode](v, "lstat", name, false)
	if err != nil {
		return nil, err
	}
	return entryInfo{name: path.Base(name), e: n.e}, nil
}

// Stat is Lstat following a final symlink inside the view.
func (v *IndexView) Stat(name string) (fs.FileInfo, error) {
	n, err := resolve[*vnode](v, "stat", name, true)
	if err != nil {
		return nil, err
	}
	return entryInfo{name: path.Base(name), e: n.e}, nil
}

// Readlink returns the target of the symlink name.
func (v *IndexView) Readlink(name string) (string, error) {
	n, err := resolve[*vnode](v, "readlink", name, false)
	if err != nil {
		return "", err
	}
	if !v.isSymlink(n) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return n.e.Linkname, nil
}

// ReadDir lists the merged directory name, sorted. Like View, it follows
// a final symlink to a directory.
func (v *IndexView) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := resolve[*vnode](v, "readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: syscall.ENOTDIR}
	}
	return listing(n), nil
}

func listing(n *vnode) []fs.DirEntry {
	out := make([]fs.DirEntry, len(n.list))
	for i, c := range n.list {
		out[i] = fs.FileInfoToDirEntry(entryInfo{name: c.name, e: c.e})
	}
	return out
}

// Open opens name, following symlinks inside the view: a directory as an
// fs.ReadDirFile over the merged listing, anything else through the open
// func given to NewIndexView.
func (v *IndexView) Open(name string) (fs.File, error) {
	n, err := resolve[*vnode](v, "open", name, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		return &dirFile{info: entryInfo{name: path.Base(name), e: n.e}, ents: listing(n)}, nil
	}
	if v.open == nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.ErrUnsupported}
	}
	return v.open(n.path())
}

// entryInfo is an index entry as an fs.FileInfo; a nil entry is an
// implied directory.
type entryInfo struct {
	name string
	e    *Entry
}

func (fi entryInfo) Name() string { return fi.name }
func (fi entryInfo) IsDir() bool  { return fi.e == nil || fi.e.Typeflag == tar.TypeDir }

func (fi entryInfo) Size() int64 {
	switch {
	case fi.e == nil:
		return 0
	case fi.e.Typeflag == tar.TypeSymlink:
		return int64(len(fi.e.Linkname)) // as lstat(2) reports it
	}
	return fi.e.Size
}

func (fi entryInfo) ModTime() time.Time {
	if fi.e == nil {
		return time.Unix(0, 0)
	}
	return time.Unix(fi.e.ModTime, 0)
}

func (fi entryInfo) Mode() fs.FileMode {
	if fi.e == nil {
		return fs.ModeDir | 0o755
	}
	m := fs.FileMode(fi.e.Mode & 0o777)
	if fi.e.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if fi.e.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if fi.e.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch fi.e.Typeflag {
	case tar.TypeDir:
		m |= fs.ModeDir
	case tar.TypeSymlink:
		m = fs.ModeSymlink | 0o777 // Linux symlinks have no mode of their own
	case tar.TypeFifo:
		m |= fs.ModeNamedPipe
	case tar.TypeChar:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case tar.TypeBlock:
		m |= fs.ModeDevice
	}
	return m
}

// Sys returns a *syscall.Stat_t, so that archive.Owner reads the owner
// and callers that look at st_mode see the file type as lstat(2) gives it.
func (fi entryInfo) Sys() any {
	st := &syscall.Stat_t{Size: fi.Size(), Nlink: 1}
	st.Mtim.Sec = fi.ModTime().Unix()
	m := fi.Mode()
	st.Mode = uint32(archive.UnixMode(m))
	switch {
	case m.IsDir():
		st.Mode |= syscall.S_IFDIR
	case m&fs.ModeSymlink != 0:
		st.Mode |= syscall.S_IFLNK
	case m&fs.ModeNamedPipe != 0:
		st.Mode |= syscall.S_IFIFO
	case m&fs.ModeCharDevice != 0:
		st.Mode |= syscall.S_IFCHR
	case m&fs.ModeDevice != 0:
		st.Mode |= syscall.S_IFBLK
	default:
		st.Mode |= syscall.S_IFREG
	}
	if fi.e != nil {
		st.Uid, st.Gid = uint32(fi.e.Uid), uint32(fi.e.Gid)
		st.Rdev = unix.Mkdev(uint32(fi.e.Devmajor), uint32(fi.e.Devminor))
	}
	return st
}

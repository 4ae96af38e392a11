package snapshot

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"strings"
)

// Whiteout names in a layer tar, as archive.Apply reads them.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueMarker   = ".wh..wh..opq"
)

// lnode is one name in a single layer's directory as archive.Apply would
// leave it: the model from which IndexView merges layers exactly as View
// merges the unpacked directories.
type lnode struct {
	e        *Entry // nil for a directory Apply creates implicitly
	dir      bool
	whiteout bool // a 0/0 character device once unpacked
	opaque   bool // trusted.overlay.opaque once unpacked
	kids     map[string]*lnode
}

func newDirNode(e *Entry) *lnode { return &lnode{e: e, dir: true, kids: map[string]*lnode{}} }

// layerTree replays one layer's entries the way archive.Apply writes
// them into an empty directory, refusing what Apply refuses.
type layerTree struct {
	root *lnode
	// The parent of the previous entry: layers list siblings together,
	// so most entries skip the walk from the root.
	lastDir  string
	lastNode *lnode
}

func newLayerTree() *layerTree { return &layerTree{root: newDirNode(nil)} }

func (l *layerTree) add(e *Entry) error {
	name := e.Name
	dir, base := path.Dir(name), path.Base(name)
	if strings.HasPrefix(base, whiteoutPrefix) {
		parent, err := l.parents(dir)
		if err != nil {
			return err
		}
		switch {
		case base == opaqueMarker:
			parent.opaque = true
			return nil
		case strings.HasPrefix(base, whiteoutMeta):
			return nil // AUFS metadata, meaningless to overlay
		}
		hidden := strings.TrimPrefix(base, whiteoutPrefix)
		if hidden == "" || hidden == "." || hidden == ".." {
			return errors.New("invalid whiteout name")
		}
		l.replace(parent, hidden, &lnode{whiteout: true})
		return nil
	}
	if name == "." {
		if e.Typeflag != tar.TypeDir {
			return errors.New("the layer root can only be a directory")
		}
		l.root.e = e
		return nil
	}
	parent, err := l.parents(dir)
	if err != nil {
		return err
	}
	switch e.Typeflag {
	case tar.TypeDir:
		// A directory over a directory only updates its metadata.
		if old := parent.kids[base]; old != nil && old.dir {
			old.e = e
			return nil
		}
		l.replace(parent, base, newDirNode(e))
	case tar.TypeReg, tar.TypeSymlink, tar.TypeFifo, tar.TypeBlock:
		l.replace(parent, base, &lnode{e: e})
	case tar.TypeChar:
		l.replace(parent, base, &lnode{e: e, whiteout: e.Devmajor == 0 && e.Devminor == 0})
	case tar.TypeLink:
		// Apply removes name before linking, so a link to itself fails.
		l.replace(parent, base, nil)
		t, err := l.lookup(e.Linkname)
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", e.Linkname, err)
		}
		if t.dir {
			return fmt.Errorf("hard link to %q: target is a directory", e.Linkname)
		}
		// One inode: the link reports its target's metadata.
		l.replace(parent, base, &lnode{e: t.e, whiteout: t.whiteout})
	default:
		return fmt.Errorf("unsupported tar entry type %q", e.Typeflag)
	}
	return nil
}

// replace puts n (nil: nothing) at base in parent, dropping whatever was
// there with its subtree.
func (l *layerTree) replace(parent *lnode, base string, n *lnode) {
	if old := parent.kids[base]; old != nil && old.dir {
		l.lastNode = nil // the cached parent may lie in the dropped subtree
	}
	if n == nil {
		delete(parent.kids, base)
		return
	}
	parent.kids[base] = n
}

// parents returns directory dir, creating missing components as Apply
// does (root-owned 0755) and refusing symlinks and non-directories.
func (l *layerTree) parents(dir string) (*lnode, error) {
	if dir == "." {
		return l.root, nil
	}
	if l.lastNode != nil && l.lastDir == dir {
		return l.lastNode, nil
	}
	n := l.root
	for i := 0; i < len(dir); {
		j := strings.IndexByte(dir[i:], '/')
		if j < 0 {
			j = len(dir)
		} else {
			j += i
		}
		c := dir[i:j]
		k := n.kids[c]
		switch {
		case k == nil:
			k = newDirNode(nil)
			n.kids[c] = k
		case k.e != nil && k.e.Typeflag == tar.TypeSymlink:
			return nil, fmt.Errorf("parent %q is a symlink; refusing to write through it", dir[:j])
		case !k.dir:
			return nil, fmt.Errorf("parent %q is not a directory", dir[:j])
		}
		n = k
		i = j + 1
	}
	l.lastDir, l.lastNode = dir, n
	return n, nil
}

// lookup finds an existing name of this layer without following
// symlinks.
func (l *layerTree) lookup(name string) (*lnode, error) {
	n := l.root
	for c := range strings.SplitSeq(name, "/") {
		if !n.dir {
			return nil, errors.New("not in this layer")
		}
		if n = n.kids[c]; n == nil {
			return nil, errors.New("not in this layer")
		}
	}
	return n, nil
}

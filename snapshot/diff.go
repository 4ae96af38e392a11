package snapshot

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"syscall"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/longpath"
)

// change is one entry of a layer diff, in the order the tar holds them.
type change struct {
	name string      // the tar entry's name
	kind changeKind  //
	src  string      // for changeEntry, the file to describe
	fi   fs.FileInfo // src's lstat from the walk, or nil to stat it again
}

type changeKind int

const (
	changeEntry    changeKind = iota
	changeWhiteout            // ".wh.NAME": NAME was deleted
	changeOpaque              // ".wh..wh..opq": nothing below shows through
)

// Diff writes the changes of the snapshot (whose processes have all
// stopped) to w as layer tar entries, each directory before its
// children, siblings sorted by name; it does not close w. A deletion is
// a ".wh.NAME" whiteout, a directory that hides all of the lowers'
// content is followed by a ".wh..wh..opq" marker, files sharing an inode
// are written once and then as hard links, and xattrs other than
// overlayfs's own are kept.
//
// skip names paths (such as etc/resolv.conf) that the sandbox bind
// mounts over and may have had to create: they are left out when they
// are empty regular files that the lowers do not have, and a directory
// whose only change is the creation of such a path is left out too.
//
// The root directory itself is never written: neither Docker's
// overlay2 and naive differs nor BuildKit's (containerd continuity)
// record it, so a command's chmod, chown or setfattr of / is lost, in
// gorae as in docker build, and Commit resets the layer directory's root
// so that later steps do not see it either.
//
// Diff reports whether anything changed; when nothing did, the caller
// records an empty layer. Sockets are left out of the layer: Dropped
// names them. Diff must be called before Commit.
func (a *Active) Diff(ctx context.Context, w *archive.Writer, skip []string) (changed bool, err error) {
	d := &differ{ctx: ctx, lower: NewView(a.Lowers), skip: map[string]bool{}}
	for _, p := range skip {
		d.skip[cleanEntryName(p)] = true
	}
	var changes []change
	if a.copied {
		d.marked = a.marked
		changes, _, err = d.walkCopy(a.Merged, ".", true)
		if force := d.unchangedLinks(); err == nil && len(force) > 0 {
			d.force, d.links = force, nil
			changes, _, err = d.walkCopy(a.Merged, ".", true)
		}
	} else {
		changes, _, err = d.walkUpper(a.Upper, ".", true)
	}
	if err != nil {
		return false, err
	}
	a.diff = &diffState{skip: skip, pruned: d.pruned, upper: d.upper}
	if err := writeChanges(ctx, w, changes, &a.diff.dropped); err != nil {
		return false, err
	}
	return len(changes) > 0, nil
}

// differ finds the changes of one snapshot.
type differ struct {
	ctx    context.Context
	lower  *View
	skip   map[string]bool
	pruned []string // left out of the diff, children before parents
	upper  []upperEntry

	// Plain copies only.
	marked bool                   // directories copied from the lowers carry copiedMark
	links  map[[2]uint64]*linkSet // multiply linked files seen
	force  map[string]bool        // unchanged names to write anyway (unchangedLinks)
}

// skipped reports whether q is a skip path the sandbox created: an
// empty file or an empty directory (a mount point) the lowers lack.
func (d *differ) skipped(q, full string, fi fs.FileInfo, inLower bool) bool {
	if !d.skip[q] {
		return false
	}
	switch {
	case fi.Mode().IsRegular() && fi.Size() == 0:
	case fi.IsDir() && emptyDir(full):
	default:
		return false
	}
	if !inLower {
		return true
	}
	_, err := d.lower.Lstat(q)
	return errors.Is(err, fs.ErrNotExist)
}

// lowerEntry returns the lowers' entry for q and its real path, or a nil
// FileInfo when the lowers have none (or the caller knows they cannot).
func (d *differ) lowerEntry(q string, inLower bool) (string, fs.FileInfo, error) {
	if !inLower {
		return "", nil, nil
	}
	n, err := d.lower.resolve("lstat", q, false)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	return d.lower.real(n.layers[0], n.path), n.info, nil
}

// walkUpper lists the changes under directory p of an overlay upper
// directory: every entry in it is a change, except directories that
// were only copied up and are unchanged themselves and below. inLower is
// false below an opaque or new directory. It also reports whether a skip
// path was left out somewhere below.
func (d *differ) walkUpper(root, p string, inLower bool) ([]change, bool, error) {
	if err := d.ctx.Err(); err != nil {
		return nil, false, err
	}
	ents, err := longpath.ReadDir(filepath.Join(root, p))
	if err != nil {
		return nil, false, err
	}
	var out []change
	skippedBelow, skippedHere := false, false
	for _, e := range ents {
		q := path.Join(p, e.Name())
		full := filepath.Join(root, q)
		fi, err := e.Info()
		if err != nil {
			return nil, false, err
		}
		d.upper = append(d.upper, upperEntry{name: q, mtime: fi.ModTime()})
		switch {
		case isWhiteout(fi):
			out = append(out, change{name: path.Join(p, ".wh."+e.Name()), kind: changeWhiteout})
		case d.skipped(q, full, fi, inLower):
			d.pruned = append(d.pruned, q)
			skippedHere = true
		case fi.IsDir():
			lreal, lfi, err := d.lowerEntry(q, inLower)
			if err != nil {
				return nil, false, err
			}
			// overlayfs also marks a directory opaque where it replaces
			// a lower file; only a lower directory needs hiding, and
			// leaving the marker out there keeps the layer the same as
			// a plain copy's.
			op := opaque(full) && lfi != nil && lfi.IsDir()
			if op {
				lreal, lfi = "", nil
			}
			sub, skipped, err := d.walkUpper(root, q, lfi != nil && lfi.IsDir())
			if err != nil {
				return nil, false, err
			}
			skippedBelow = skippedBelow || skipped
			if !op && len(sub) == 0 && !dirChanged(full, fi, lreal, lfi, skipped) {
				d.pruned = append(d.pruned, q)
				continue
			}
			out = append(out, change{name: q, src: full, fi: fi})
			if op {
				out = append(out, change{name: path.Join(q, ".wh..wh..opq"), kind: changeOpaque})
			}
			out = append(out, sub...)
		default:
			out = append(out, change{name: q, src: full, fi: fi})
		}
	}
	return out, skippedBelow || skippedHere, nil
}

// dirChanged reports whether directory fi (at full) differs from the
// lowers' entry lfi (at lreal) by more than the creation of a skip path
// in it: a new directory, other mode, owner or xattrs, or (unless a skip
// path was created below it, which touched it) another mtime. A new
// directory holding nothing but skip paths counts as unchanged.
func dirChanged(full string, fi fs.FileInfo, lreal string, lfi fs.FileInfo, skipped bool) bool {
	if lfi == nil || !lfi.IsDir() {
		return !skipped
	}
	if fi.Mode() != lfi.Mode() || !sameOwner(fi, lfi) {
		return true
	}
	if !skipped && !fi.ModTime().Equal(lfi.ModTime()) {
		return true
	}
	return !sameXattrs(full, lreal)
}

func sameOwner(a, b fs.FileInfo) bool {
	au, ag := ownerOf(a)
	bu, bg := ownerOf(b)
	return au == bu && ag == bg
}

func ownerOf(fi fs.FileInfo) (uint32, uint32) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid, st.Gid
	}
	return 0, 0
}

func sameXattrs(a, b string) bool {
	xa, erra := xattrs(a)
	xb, errb := xattrs(b)
	if erra != nil || errb != nil || len(xa) != len(xb) {
		return false
	}
	for k, v := range xa {
		if w, ok := xb[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func emptyDir(p string) bool {
	f, err := longpath.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) == 0
}

// Dropped names the entries the last Diff found but could not write to
// the layer (sockets), so that the caller can say so.
func (a *Active) Dropped() []string {
	if a.diff == nil {
		return nil
	}
	return a.diff.dropped
}

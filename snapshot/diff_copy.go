package snapshot

import (
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/gorae/gorae/longpath"
)

// walkCopy lists the changes under directory p of a plain-copy snapshot
// by comparing it with the lowers: names the lowers have and the copy
// lacks are whiteouts, new or changed entries are written, and a
// directory is written when it changed or anything below it did. inLower
// is false below a directory the lowers do not have. It also reports
// whether a skip path was left out somewhere below.
func (d *differ) walkCopy(root, p string, inLower bool) ([]change, bool, error) {
	if err := d.ctx.Err(); err != nil {
		return nil, false, err
	}
	ents, err := longpath.ReadDir(filepath.Join(root, p))
	if err != nil {
		return nil, false, err
	}
	var lents []fs.DirEntry
	if inLower {
		if lents, err = d.lower.ReadDir(p); err != nil {
			return nil, false, err
		}
	}
	var out []change
	skippedAny := false
	i, j := 0, 0
	for i < len(ents) || j < len(lents) {
		var name string
		switch {
		case i == len(ents):
			name = lents[j].Name()
		case j == len(lents):
			name = ents[i].Name()
		default:
			name = min(ents[i].Name(), lents[j].Name())
		}
		inMerged := i < len(ents) && ents[i].Name() == name
		if inMerged {
			i++
		}
		if j < len(lents) && lents[j].Name() == name {
			j++
		}
		if !inMerged {
			out = append(out, change{name: path.Join(p, ".wh."+name), kind: changeWhiteout})
			continue
		}
		q := path.Join(p, name)
		full := filepath.Join(root, q)
		fi, err := longpath.Lstat(full)
		if err != nil {
			return nil, false, err
		}
		if d.skipped(q, full, fi, inLower) {
			skippedAny = true
			continue
		}
		lreal, lfi, err := d.lowerEntry(q, inLower)
		if err != nil {
			return nil, false, err
		}
		if fi.IsDir() {
			// A lower directory the command deleted and made again lacks
			// the mark; like overlayfs, record it as opaque.
			remade := lfi != nil && lfi.IsDir() && d.marked && !hasMark(full)
			sub, skipped, err := d.walkCopy(root, q, lfi != nil && lfi.IsDir() && !remade)
			if err != nil {
				return nil, false, err
			}
			skippedAny = skippedAny || skipped
			switch {
			case remade:
				out = append(out, change{name: q, src: full, fi: fi}, change{name: path.Join(q, ".wh..wh..opq"), kind: changeOpaque})
				out = append(out, sub...)
			case len(sub) > 0 || dirChanged(full, fi, lreal, lfi, skipped):
				out = append(out, change{name: q, src: full, fi: fi})
				out = append(out, sub...)
			}
			continue
		}
		changed := lfi == nil || d.force[q] || entryChanged(full, fi, lreal, lfi)
		if changed {
			out = append(out, change{name: q, src: full, fi: fi})
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() && st.Nlink > 1 {
			d.linked(st, q, changed)
		}
	}
	return out, skippedAny, nil
}

// linkSet is the names of one multiply linked file in a plain copy.
type linkSet struct {
	names   []string
	changed []bool
}

// linked records that q is a name of st's inode. The copy's files share
// inodes only where the command linked them (materialize breaks the
// lowers' links), and overlayfs would have copied every such name up.
func (d *differ) linked(st *syscall.Stat_t, q string, changed bool) {
	if d.links == nil {
		d.links = map[[2]uint64]*linkSet{}
	}
	key := [2]uint64{st.Dev, st.Ino}
	ls := d.links[key]
	if ls == nil {
		ls = &linkSet{}
		d.links[key] = ls
	}
	ls.names = append(ls.names, q)
	ls.changed = append(ls.changed, changed)
}

// unchangedLinks returns the names that look unchanged but share an
// inode with a changed name: a command's `ln lower new` changes only the
// new name's stat, yet the layer must hold both to keep them one file.
func (d *differ) unchangedLinks() map[string]bool {
	force := map[string]bool{}
	for _, ls := range d.links {
		if !slices.Contains(ls.changed, true) {
			continue
		}
		for i, n := range ls.names {
			if !ls.changed[i] {
				force[n] = true
			}
		}
	}
	return force
}

// hasMark reports whether directory p carries materialize's copiedMark.
func hasMark(p string) bool {
	_, err := longpath.Lgetxattr(p, copiedMarkName(), nil)
	return err == nil
}

// entryChanged reports whether non-directory fi (at full) differs from
// the lowers' entry lfi (at lreal). The copy keeps mtimes to the
// nanosecond, so an unchanged mtime and size mean unchanged content.
func entryChanged(full string, fi fs.FileInfo, lreal string, lfi fs.FileInfo) bool {
	if fi.Mode() != lfi.Mode() || fi.Size() != lfi.Size() || !fi.ModTime().Equal(lfi.ModTime()) || !sameOwner(fi, lfi) {
		return true
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		a, erra := longpath.Readlink(full)
		b, errb := longpath.Readlink(lreal)
		if erra != nil || errb != nil || a != b {
			return true
		}
	}
	if fi.Mode()&(fs.ModeDevice|fs.ModeCharDevice) != 0 {
		sa, oka := fi.Sys().(*syscall.Stat_t)
		sb, okb := lfi.Sys().(*syscall.Stat_t)
		if !oka || !okb || sa.Rdev != sb.Rdev {
			return true
		}
	}
	return !sameXattrs(full, lreal)
}

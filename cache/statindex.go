package cache

import "strings"

// statIndex answers Get straight from the stat cache file's bytes. The
// file lists entries sorted by path, so the entries of one directory come
// in name order (a subdirectory's entries interleave, but never reorder
// them). Opening the cache only records, per directory, where its
// entries start: no map of 20,000 paths is built, no digest is copied,
// and a lookup is one map access by directory and a binary search by
// name. A warm build looks up every context file, and opening the cache
// used to cost a tenth of the whole check.
type statIndex struct {
	s     string             // the file's entries (after magic), from its count
	start int                // the offset of the first entry in s
	dirs  map[string][]int32 // directory → offsets of its entries, by name
}

// indexStats parses a stat cache file; false when it is not a valid one.
func indexStats(b []byte) (statIndex, bool) {
	d, count, ok := statBody(b)
	if !ok {
		return statIndex{}, false
	}
	x := statIndex{s: d.s, start: d.off, dirs: map[string][]int32{}}
	var lastDir string
	var cur []int32
	for range count {
		at := d.off
		k := d.str()
		for range len(FileID{}) {
			d.varint()
		}
		d.str()
		if d.bad || at > 1<<31-1 {
			return statIndex{}, false
		}
		dir := ""
		if i := strings.LastIndexByte(k, '/'); i >= 0 {
			dir = k[:i]
		}
		if cur == nil || dir != lastDir {
			if cur != nil {
				x.dirs[lastDir] = cur
			}
			lastDir, cur = dir, x.dirs[dir]
		}
		cur = append(cur, int32(at))
	}
	if cur != nil {
		x.dirs[lastDir] = cur
	}
	if d.bad || d.off != len(d.s) {
		return statIndex{}, false
	}
	return x, true
}

// at decodes the entry at offset off.
func (x statIndex) at(off int32) (string, statEntry) {
	d := statDecoder{s: x.s, off: int(off)}
	k := d.str()
	var e statEntry
	for i := range e.ID {
		e.ID[i] = d.varint()
	}
	e.Digest = d.str()
	return k, e
}

// path decodes only the path of the entry at off.
func (x statIndex) path(off int32) string {
	d := statDecoder{s: x.s, off: int(off)}
	return d.str()
}

func (x statIndex) get(rel string) (statEntry, bool) {
	dir := ""
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		dir = rel[:i]
	}
	offs := x.dirs[dir]
	lo, hi := 0, len(offs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x.path(offs[m]) < rel {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(offs) {
		if k, e := x.at(offs[lo]); k == rel {
			return e, true
		}
	}
	return statEntry{}, false
}

func (x statIndex) len() int {
	n := 0
	for _, offs := range x.dirs {
		n += len(offs)
	}
	return n
}

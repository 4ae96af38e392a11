package cache

import (
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"unsafe"
)

// addedStats are the records Put since the stat cache file was read,
// packed per directory: name, FileID as varints, and the digest (32
// bytes when it is a lower-case hex SHA-256), about 70 bytes a file.
// A cold build of a 300,000-file context puts every file, and a map of
// path → statEntry took three times that, with the path and the hex
// digest besides.
type addedStats struct {
	dirs map[string]*dirLog // directory ("" for the top) → its records
	n    int                // records, replaced ones included
}

// dirLog is one directory's records. A walk puts a directory's files in
// name order, so offs is usually sorted as it grows; after a put out of
// order, the next get sorts it again.
type dirLog struct {
	prefix string  // the directory and "/" ("" for the top)
	recs   []byte  // packed records, never changed once appended
	offs   []int32 // where each record starts in recs
	sorted bool    // offs are in name order, each name once
}

func splitRel(rel string) (dir, name string) {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i], rel[i+1:]
	}
	return "", rel
}

func (a *addedStats) put(rel string, e statEntry) {
	dir, name := splitRel(rel)
	d := a.dirs[dir]
	if d == nil {
		if a.dirs == nil {
			a.dirs = map[string]*dirLog{}
		}
		d = &dirLog{sorted: true}
		if dir != "" {
			d.prefix = dir + "/"
		}
		a.dirs[dir] = d
	}
	if n := len(d.offs); n > 0 && d.name(d.offs[n-1]) >= name {
		d.sorted = false
	}
	d.offs = append(d.offs, int32(len(d.recs)))
	b := binary.AppendUvarint(d.recs, uint64(len(name)))
	b = append(b, name...)
	for _, v := range e.ID {
		b = binary.AppendVarint(b, v)
	}
	if sum, ok := HexDigest(e.Digest); ok {
		b = append(b, 1)
		b = append(b, sum[:]...)
	} else {
		b = append(b, 0)
		b = binary.AppendUvarint(b, uint64(len(e.Digest)))
		b = append(b, e.Digest...)
	}
	d.recs = b
	a.n++
}

func (a *addedStats) get(rel string) (statEntry, bool) {
	dir, name := splitRel(rel)
	d := a.dirs[dir]
	if d == nil {
		return statEntry{}, false
	}
	d.sort()
	i, ok := slices.BinarySearchFunc(d.offs, name, func(off int32, name string) int {
		return strings.Compare(d.name(off), name)
	})
	if !ok {
		return statEntry{}, false
	}
	return d.entry(d.offs[i]), true
}

// sort puts offs in name order, keeping the last record of a name.
func (d *dirLog) sort() {
	if d.sorted {
		return
	}
	slices.SortStableFunc(d.offs, func(a, b int32) int { return strings.Compare(d.name(a), d.name(b)) })
	out := d.offs[:0]
	for i, off := range d.offs {
		if i+1 < len(d.offs) && d.name(d.offs[i+1]) == d.name(off) {
			continue // a later record replaced it
		}
		out = append(out, off)
	}
	d.offs, d.sorted = out, true
}

// name is the name of the record at off, pointing into recs (which is
// only ever appended to).
func (d *dirLog) name(off int32) string {
	n, k := binary.Uvarint(d.recs[off:])
	if n == 0 {
		return ""
	}
	return unsafe.String(&d.recs[int(off)+k], int(n))
}

func (d *dirLog) entry(off int32) statEntry {
	n, k := binary.Uvarint(d.recs[off:])
	b := d.recs[int(off)+k+int(n):]
	var e statEntry
	for i := range e.ID {
		v, k := binary.Varint(b)
		e.ID[i], b = v, b[k:]
	}
	if b[0] == 1 {
		e.Digest = hex.EncodeToString(b[1 : 1+32])
	} else {
		n, k := binary.Uvarint(b[1:])
		e.Digest = string(b[1+k : 1+k+int(n)])
	}
	return e
}

// HexDigest decodes a 64-character lower-case hex string: one that
// hex.EncodeToString gives back unchanged. Packed records (here and
// ops's explain records) store such a digest as its 32 bytes.
func HexDigest(v string) (sum [32]byte, ok bool) {
	if len(v) != 64 {
		return sum, false
	}
	for i := range len(v) {
		if c := v[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return sum, false
		}
	}
	_, err := hex.Decode(sum[:], []byte(v))
	return sum, err == nil
}

// addedRef is one record of addedStats.
type addedRef struct {
	d   *dirLog
	off int32
}

func (r addedRef) path() (prefix, name string) { return r.d.prefix, r.d.name(r.off) }

// ordered lists every record once (the last put of each path), in path
// order: the order of the stat cache file.
func (a *addedStats) ordered() []addedRef {
	refs := make([]addedRef, 0, a.n)
	for _, d := range a.dirs {
		d.sort()
		for _, off := range d.offs {
			refs = append(refs, addedRef{d, off})
		}
	}
	slices.SortFunc(refs, func(x, y addedRef) int {
		xp, xn := x.path()
		yp, yn := y.path()
		return compareJoined(xp, xn, yp, yn)
	})
	return refs
}

// compareJoined is strings.Compare(p1+n1, p2+n2), without joining.
func compareJoined(p1, n1, p2, n2 string) int {
	if p1 == p2 {
		return strings.Compare(n1, n2)
	}
	if len(p1) > len(p2) {
		return -compareJoined(p2, n2, p1, n1)
	}
	if c := strings.Compare(p1, p2[:len(p1)]); c != 0 {
		return c
	}
	rest := p2[len(p1):] // p1+n1 against rest+n2
	k := min(len(n1), len(rest))
	if c := strings.Compare(n1[:k], rest[:k]); c != 0 {
		return c
	}
	if len(n1) < len(rest) {
		return -1
	}
	return strings.Compare(n1[len(rest):], n2)
}

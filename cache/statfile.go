package cache

import (
	"bufio"
	"encoding/binary"
	"hash/crc32"
	"io"
	"unsafe"
)

// The stat cache file is read by every build before it hashes anything,
// so it is a flat binary list rather than gob (three times faster to
// decode at 20,000 entries):
//
//	magic, uvarint count,
//	count × (uvarint len, path, 5 × varint FileID, uvarint len, digest),
//	CRC-32C of everything before it (4 bytes, little-endian).
//
// A file that is truncated, corrupt or of another version reads as an
// empty cache: every file is hashed again, never a stale digest used.
const statMagic = "gorae-statcache-2\n"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// writeStats writes a stat cache file of file's entries and added's
// (in path order, see addedStats.ordered) merged in path order; a record
// of added replaces file's entry for the same path.
func writeStats(w io.Writer, file statIndex, added []addedRef) error {
	// The count comes first: one pass counts, the second writes.
	n := 0
	merge(file, added, func(int32, addedRef) { n++ })
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<16)
	b := binary.AppendUvarint([]byte(statMagic), uint64(n))
	bw.Write(b)
	merge(file, added, func(off int32, r addedRef) {
		var prefix, name string
		var e statEntry
		if off >= 0 {
			name, e = file.at(off)
		} else {
			prefix, name = r.path()
			e = r.d.entry(r.off)
		}
		b = binary.AppendUvarint(b[:0], uint64(len(prefix)+len(name)))
		b = append(b, prefix...)
		b = append(b, name...)
		for _, v := range e.ID {
			b = binary.AppendVarint(b, v)
		}
		b = binary.AppendUvarint(b, uint64(len(e.Digest)))
		b = append(b, e.Digest...)
		bw.Write(b)
	})
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	return err
}

// merge calls fn for every path of file and added, in order, once: with
// the offset of file's entry (and a zero addedRef), or with -1 and the
// record of added, which wins over file's entry for the same path.
func merge(file statIndex, added []addedRef, fn func(off int32, r addedRef)) {
	d := statDecoder{s: file.s, off: file.start}
	var fk string
	var foff int32 = -1
	next := func() {
		foff = -1
		if d.off < len(d.s) {
			foff = int32(d.off)
			fk = d.str()
			for range len(FileID{}) {
				d.varint()
			}
			d.str()
		}
	}
	next()
	for _, r := range added {
		p, n := r.path()
		c := -1
		for foff >= 0 {
			if c = compareJoined("", fk, p, n); c >= 0 {
				break
			}
			fn(foff, addedRef{})
			next()
		}
		if foff >= 0 && c == 0 {
			next()
		}
		fn(-1, r)
	}
	for foff >= 0 {
		fn(foff, addedRef{})
		next()
	}
}

// statBody checks a stat cache file's magic and checksum and returns a
// decoder positioned at its first entry, and the number of entries.
func statBody(b []byte) (statDecoder, uint64, bool) {
	if len(b) < len(statMagic)+4 || string(b[:len(statMagic)]) != statMagic {
		return statDecoder{}, 0, false
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return statDecoder{}, 0, false
	}
	// Paths and digests are slices of one string over the file's bytes,
	// not 40,000 small allocations, and not even a copy of the file (a
	// fresh 2 MB copy costs more in page faults than the whole decode).
	// b is ours alone and never written again.
	rest := body[len(statMagic):]
	if len(rest) == 0 {
		return statDecoder{}, 0, false
	}
	d := statDecoder{s: unsafe.String(&rest[0], len(rest))}
	n := d.uvarint()
	if d.bad || n > uint64(len(d.s)) { // every entry takes more than a byte
		return statDecoder{}, 0, false
	}
	return d, n, true
}

type statDecoder struct {
	s   string
	off int
	bad bool
}

// uvarint and varint decode as encoding/binary does, from a string.
func (d *statDecoder) uvarint() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.off >= len(d.s) {
			break
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			return v | uint64(c)<<shift
		}
		v |= uint64(c&0x7f) << shift
	}
	d.bad = true
	return 0
}

func (d *statDecoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (d *statDecoder) str() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.s)-d.off) {
		d.bad = true
		return ""
	}
	v := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return v
}

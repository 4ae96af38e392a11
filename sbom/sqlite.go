package sbom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// sqliteDB is a read-only reader of the SQLite 3 file format, just enough
// to walk one table's rows: the database header, table b-tree pages,
// overflow chains, records, and a write-ahead log's committed frames.
// Indexes, free lists and writes are out of scope.
type sqliteDB struct {
	r        io.ReaderAt
	size     int64
	pageSize int
	usable   int              // page size less the reserved bytes at each page's end
	wal      map[uint32]int64 // page → offset of its newest committed copy in walR
	walR     io.ReaderAt
	walSize  int64
}

var errSQLiteCorrupt = errors.New("corrupt SQLite database")

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errSQLiteCorrupt}, a...)...)
}

func openSQLite(r io.ReaderAt, size int64) (*sqliteDB, error) {
	var h [100]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, corrupt("read header: %v", err)
	}
	if !bytes.HasPrefix(h[:], []byte("SQLite format 3\x00")) {
		return nil, corrupt("not an SQLite 3 file")
	}
	ps := int(binary.BigEndian.Uint16(h[16:]))
	if ps == 1 {
		ps = 65536
	}
	if ps < 512 || ps&(ps-1) != 0 {
		return nil, corrupt("page size %d", ps)
	}
	usable := ps - int(h[20])
	if usable < 480 {
		return nil, corrupt("usable page size %d", usable)
	}
	if enc := binary.BigEndian.Uint32(h[56:]); enc > 1 {
		return nil, fmt.Errorf("SQLite text encoding %d: only UTF-8 is read", enc)
	}
	return &sqliteDB{r: r, size: size, pageSize: ps, usable: usable}, nil
}

// page returns page n (1-based), from the write-ahead log when it holds a
// committed copy.
func (db *sqliteDB) page(n uint32) ([]byte, error) {
	buf := make([]byte, db.pageSize)
	if off, ok := db.wal[n]; ok {
		if _, err := db.walR.ReadAt(buf, off); err != nil {
			return nil, corrupt("read page %d from the WAL: %v", n, err)
		}
		return buf, nil
	}
	off := int64(n-1) * int64(db.pageSize)
	if n == 0 || off+int64(db.pageSize) > db.size {
		return nil, corrupt("page %d is outside the file", n)
	}
	if _, err := db.r.ReadAt(buf, off); err != nil {
		return nil, corrupt("read page %d: %v", n, err)
	}
	return buf, nil
}

// rows calls fn with the rowid and the record of every row of the table
// b-tree rooted at page root, in rowid order.
func (db *sqliteDB) rows(root uint32, fn func(rowid int64, rec []byte) error) error {
	visited := map[uint32]bool{}
	var walk func(n uint32, depth int) error
	walk = func(n uint32, depth int) error {
		if depth > 64 || visited[n] {
			return corrupt("b-tree loop at page %d", n)
		}
		visited[n] = true
		pg, err := db.page(n)
		if err != nil {
			return err
		}
		hdr := 0
		if n == 1 {
			hdr = 100
		}
		if len(pg) < hdr+12 {
			return corrupt("page %d too short", n)
		}
		kind := pg[hdr]
		if kind != 0x05 && kind != 0x0d {
			return corrupt("page %d has type %#x, not a table b-tree page", n, kind)
		}
		ncells := int(binary.BigEndian.Uint16(pg[hdr+3:]))
		ptrs := hdr + 8
		if kind == 0x05 {
			ptrs = hdr + 12
		}
		if ptrs+2*ncells > len(pg) {
			return corrupt("page %d: %d cells do not fit", n, ncells)
		}
		for i := range ncells {
			off := int(binary.BigEndian.Uint16(pg[ptrs+2*i:]))
			if off >= db.usable {
				return corrupt("page %d: cell offset %d", n, off)
			}
			cell := pg[off:db.usable]
			switch kind {
			case 0x05: // interior table page: 4-byte left child, rowid
				if len(cell) < 4 {
					return corrupt("page %d: short cell", n)
				}
				if err := walk(binary.BigEndian.Uint32(cell), depth+1); err != nil {
					return err
				}
			default: // 0x0d, a leaf table page: payload size, rowid, payload
				rowid, rec, err := db.leafCell(cell)
				if err != nil {
					return fmt.Errorf("page %d: %w", n, err)
				}
				if err := fn(rowid, rec); err != nil {
					return err
				}
			}
		}
		if kind == 0x05 {
			return walk(binary.BigEndian.Uint32(pg[hdr+8:]), depth+1)
		}
		return nil
	}
	return walk(root, 0)
}

// leafCell returns a table leaf cell's rowid and its whole payload,
// following the overflow chain when the payload spills.
func (db *sqliteDB) leafCell(cell []byte) (int64, []byte, error) {
	size, n := varint(cell)
	if n == 0 {
		return 0, nil, corrupt("bad payload size")
	}
	cell = cell[n:]
	rowid, n := varint(cell)
	if n == 0 {
		return 0, nil, corrupt("bad rowid")
	}
	cell = cell[n:]
	if size > uint64(db.size+db.walSize) {
		return 0, nil, corrupt("payload of %d bytes in a file of %d", size, db.size)
	}
	p, u := int(size), db.usable
	local := p
	if x := u - 35; p > x {
		m := (u-12)*32/255 - 23
		local = m + (p-m)%(u-4)
		if local > x {
			local = m
		}
	}
	if local > len(cell) || (local < p && local+4 > len(cell)) {
		return 0, nil, corrupt("cell of %d bytes overruns its page", p)
	}
	out := append([]byte(nil), cell[:local]...)
	next := uint32(0)
	if local < p {
		next = binary.BigEndian.Uint32(cell[local:])
	}
	seen := map[uint32]bool{}
	for len(out) < p {
		if next == 0 || seen[next] {
			return 0, nil, corrupt("overflow chain ends early or loops")
		}
		seen[next] = true
		pg, err := db.page(next)
		if err != nil {
			return 0, nil, err
		}
		next = binary.BigEndian.Uint32(pg)
		out = append(out, pg[4:min(u, 4+p-len(out))]...)
	}
	return int64(rowid), out, nil
}

// varint decodes SQLite's big-endian variable-length integer; n is 0
// when b is too short.
func varint(b []byte) (v uint64, n int) {
	for i := 0; i < 9; i++ {
		if i >= len(b) {
			return 0, 0
		}
		if i == 8 {
			return v<<8 | uint64(b[i]), 9
		}
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return v, 9
}

// sqliteValue is one column of a record: Int for integers, Bytes for
// text and blobs (IsText tells which), nothing for NULL.
type sqliteValue struct {
	Int    int64
	Bytes  []byte
	IsText bool
	IsBlob bool
}

// record decodes a record: a header of serial types, then the values.
func record(rec []byte) ([]sqliteValue, error) {
	hlen, n := varint(rec)
	if n == 0 || hlen > uint64(len(rec)) || hlen < uint64(n) {
		return nil, corrupt("record header")
	}
	types, body := rec[n:hlen], rec[hlen:]
	var vals []sqliteValue
	for len(types) > 0 {
		t, n := varint(types)
		if n == 0 {
			return nil, corrupt("record serial type")
		}
		types = types[n:]
		var v sqliteValue
		size := 0
		switch {
		case t == 0, t == 8, t == 9:
			if t == 9 {
				v.Int = 1
			}
		case t <= 6:
			size = [...]int{0, 1, 2, 3, 4, 6, 8}[t]
		case t == 7:
			size = 8
		case t >= 12:
			if (t-12)/2 > uint64(len(body)) {
				return nil, corrupt("record value overruns the record")
			}
			size = int((t - 12) / 2)
			v.IsText, v.IsBlob = t%2 == 1, t%2 == 0
		default:
			return nil, corrupt("serial type %d", t)
		}
		if size > len(body) {
			return nil, corrupt("record value overruns the record")
		}
		if t >= 1 && t <= 6 {
			x := int64(int8(body[0])) // sign-extend from the first byte
			for _, c := range body[1:size] {
				x = x<<8 | int64(c)
			}
			v.Int = x
		} else if t >= 12 {
			v.Bytes = body[:size]
		}
		body = body[size:]
		vals = append(vals, v)
	}
	return vals, nil
}

// tableRoot returns the root page of the table named name, from the
// schema table on page 1.
func (db *sqliteDB) tableRoot(name string) (uint32, error) {
	var root uint32
	err := db.rows(1, func(_ int64, rec []byte) error {
		v, err := record(rec)
		if err != nil {
			return err
		}
		// sqlite_schema: type, name, tbl_name, rootpage, sql
		if len(v) >= 4 && string(v[0].Bytes) == "table" && string(v[1].Bytes) == name {
			root = uint32(v[3].Int)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if root == 0 {
		return 0, fmt.Errorf("no table %s", name)
	}
	return root, nil
}

package sbom

import (
	"encoding/binary"
	"io"
)

// readWAL records which pages the write-ahead log next to the database
// holds in committed transactions, so that page reads see them as SQLite
// would. Frames after the last valid commit (a transaction being written,
// or left from an older log generation: other salts, broken checksums)
// are ignored.
func (db *sqliteDB) readWAL(r io.ReaderAt, size int64) error {
	var h [32]byte
	if size < 32 {
		return nil
	}
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return corrupt("read WAL header: %v", err)
	}
	magic := binary.BigEndian.Uint32(h[:])
	if magic&^1 != 0x377f0682 {
		return corrupt("WAL magic %#x", magic)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if magic&1 == 1 {
		order = binary.BigEndian
	}
	if int(binary.BigEndian.Uint32(h[8:])) != db.pageSize {
		return corrupt("WAL page size differs from the database's")
	}
	s0, s1 := walChecksum(order, 0, 0, h[:24])
	if s0 != binary.BigEndian.Uint32(h[24:]) || s1 != binary.BigEndian.Uint32(h[28:]) {
		return nil // a log never written to: nothing to apply
	}
	salt := h[16:24]
	committed := map[uint32]int64{}
	pending := map[uint32]int64{}
	frame := make([]byte, 24+db.pageSize)
	for off := int64(32); off+int64(len(frame)) <= size; off += int64(len(frame)) {
		if _, err := r.ReadAt(frame, off); err != nil {
			return corrupt("read WAL frame: %v", err)
		}
		if string(frame[8:16]) != string(salt) {
			break
		}
		s0, s1 = walChecksum(order, s0, s1, frame[:8])
		s0, s1 = walChecksum(order, s0, s1, frame[24:])
		if s0 != binary.BigEndian.Uint32(frame[16:]) || s1 != binary.BigEndian.Uint32(frame[20:]) {
			break
		}
		pending[binary.BigEndian.Uint32(frame)] = off + 24
		if binary.BigEndian.Uint32(frame[4:]) != 0 { // commit frame
			for p, o := range pending {
				committed[p] = o
			}
			clear(pending)
		}
	}
	if len(committed) > 0 {
		db.wal, db.walR, db.walSize = committed, r, size
	}
	return nil
}

// walChecksum is SQLite's WAL checksum over b (a multiple of 8 bytes),
// continuing from s0, s1.
func walChecksum(order binary.ByteOrder, s0, s1 uint32, b []byte) (uint32, uint32) {
	for i := 0; i+8 <= len(b); i += 8 {
		s0 += order.Uint32(b[i:]) + s1
		s1 += order.Uint32(b[i+4:]) + s0
	}
	return s0, s1
}

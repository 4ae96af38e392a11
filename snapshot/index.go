package snapshot

import (
	"archive/tar"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unsafe"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/gorae/gorae/archive"
)

// Entry is one tar entry's metadata (no content), as a layer index holds
// it. Name is clean and relative ("." for the root) and keeps whiteout
// names (".wh.NAME", ".wh..wh..opq") as they are: IndexView interprets
// them. Mode holds the permission, setuid, setgid and sticky bits.
type Entry struct {
	Name     string
	Typeflag byte
	Mode     int64
	Uid, Gid int
	Size     int64
	Linkname string
	ModTime  int64 // unix seconds
	// Devmajor and Devminor matter only for devices: a 0/0 character
	// device is an overlay whiteout once unpacked.
	Devmajor, Devminor int64             `json:",omitempty"`
	Xattrs             map[string]string `json:",omitempty"`
}

// EntryOf returns the index entry of h. Xattrs come from the PAX
// SCHILY.xattr.* records, except overlayfs's own (trusted.overlay.,
// user.overlay.), which Apply drops too.
func EntryOf(h *tar.Header) Entry {
	e := Entry{
		Name:     cleanEntryName(h.Name),
		Typeflag: h.Typeflag,
		Mode:     h.Mode & 0o7777,
		Uid:      h.Uid,
		Gid:      h.Gid,
		Size:     h.Size,
		Linkname: h.Linkname,
		ModTime:  h.ModTime.Unix(),
		Devmajor: h.Devmajor,
		Devminor: h.Devminor,
	}
	switch e.Typeflag {
	case tar.TypeLink:
		e.Linkname = cleanEntryName(h.Linkname)
		e.Size = 0
	case tar.TypeReg:
	default:
		e.Size = 0
	}
	for k, v := range h.PAXRecords {
		key, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || archive.IsOverlayXattr(key) {
			continue
		}
		if e.Xattrs == nil {
			e.Xattrs = map[string]string{}
		}
		e.Xattrs[key] = v
	}
	return e
}

// cleanEntryName is a tar name as a clean relative path, "." for the root;
// ".." cannot climb above the root (IndexLayer refuses such names first).
func cleanEntryName(name string) string {
	c := path.Clean("/" + name)
	if c == "/" {
		return "."
	}
	return c[1:]
}

// escapes reports whether a tar name leaves the layer root, as Apply
// judges it.
func escapes(name string) bool {
	rel := path.Clean(strings.TrimLeft(name, "/"))
	return rel == ".." || strings.HasPrefix(rel, "../")
}

// IndexLayer reads an uncompressed layer tar's headers, skipping the
// contents (by seeking when r is an io.Seeker), and returns its index:
// for layers gorae did not write itself, such as base images. It refuses
// what Apply refuses (entries leaving the root, writes through symlinks,
// unknown entry types), so an index exists only for a layer that
// unpacks. It stops at the end-of-archive marker; a caller hashing r for
// the diffID reads the rest. Callers save the result with SaveIndex.
func IndexLayer(ctx context.Context, r io.Reader) ([]Entry, error) {
	tr := tar.NewReader(r)
	x := newIndexer()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return x.out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read layer tar: %w", err)
		}
		if err := x.add(h); err != nil {
			return nil, err
		}
	}
}

// indexer builds a layer's index header by header (IndexLayer, and
// Unpack in the same pass as archive.Apply).
type indexer struct {
	out []Entry
	l   *layerTree
	err error // keep's first failure
}

// keep adds h unless an earlier header failed: Apply's callback, which
// cannot return an error (Apply refuses what add does anyway).
func (x *indexer) keep(h *tar.Header) {
	if x.err == nil {
		x.err = x.add(h)
	}
}

func newIndexer() *indexer { return &indexer{l: newLayerTree()} }

func (x *indexer) add(h *tar.Header) error {
	if escapes(h.Name) {
		return fmt.Errorf("layer entry %q: path escapes the layer root", h.Name)
	}
	if h.Typeflag == tar.TypeLink && escapes(h.Linkname) {
		return fmt.Errorf("layer entry %q: hard link target %q escapes the layer root", h.Name, h.Linkname)
	}
	x.out = append(x.out, EntryOf(h))
	if err := x.l.add(&x.out[len(x.out)-1]); err != nil {
		return fmt.Errorf("layer entry %q: %w", h.Name, err)
	}
	return nil
}

// The index file: a magic line, the entry count, the entries, and a
// CRC-32C of everything before it. The checksum is what lets SaveIndex
// skip fsync: a torn or zeroed file after a crash fails it and reads as
// missing, so the index is rebuilt rather than trusted.
const indexMagic = "gorae-index-v1\n"

func (s *Store) indexPath(diffID v1.Hash) (string, error) {
	if diffID.Algorithm != "sha256" || len(diffID.Hex) != 64 || strings.ContainsAny(diffID.Hex, "/.") {
		return "", fmt.Errorf("layer index: diffID %q is not a sha256 digest", diffID)
	}
	return filepath.Join(s.dir, "index", diffID.Hex+".idx"), nil
}

// SaveIndex stores the index of the layer with this diffID under
// DIR/index/<hex>.idx, atomically (temporary file, then rename), so that
// concurrent writers of the same layer each publish a whole file.
func (s *Store) SaveIndex(diffID v1.Hash, entries []Entry) error {
	var b IndexBuilder
	for i := range entries {
		b.add(&entries[i])
	}
	return s.SaveBuiltIndex(diffID, &b)
}

// SaveBuiltIndex is SaveIndex of the entries added to b.
func (s *Store) SaveBuiltIndex(diffID v1.Hash, b *IndexBuilder) (err error) {
	p, err := s.indexPath(diffID)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save layer index: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+diffID.Hex+"-")
	if err != nil {
		return fmt.Errorf("save layer index: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := b.WriteTo(f); err != nil {
		return fmt.Errorf("save layer index: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save layer index: %w", err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("save layer index: %w", err)
	}
	return nil
}

// LoadIndex returns the index of the layer with this diffID; ok is false
// when there is none or it is corrupt (then the caller rebuilds it, from
// IndexLayer, and saves it again).
func (s *Store) LoadIndex(diffID v1.Hash) ([]Entry, bool, error) {
	p, err := s.indexPath(diffID)
	if err != nil {
		return nil, false, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load layer index: %w", err)
	}
	entries, err := decodeIndex(b)
	if err != nil {
		return nil, false, nil
	}
	return entries, true, nil
}

// IndexBuilder packs a layer's index entry by entry, as the index file
// holds it, while the layer is written: about 40 bytes an entry, where
// a []Entry of a 300,000-file layer takes 40 MB before it is encoded.
// The encoding grows in chunks, never copied. The zero value is empty.
type IndexBuilder struct {
	body [][]byte
	n    int
	rec  []byte // add's scratch
}

// indexChunk is the size of IndexBuilder's chunks.
const indexChunk = 64 << 10

// Add adds the entry of h (see EntryOf).
func (b *IndexBuilder) Add(h *tar.Header) {
	e := EntryOf(h)
	b.add(&e)
}

func (b *IndexBuilder) add(e *Entry) {
	body := b.rec[:0]
	str := func(s string) {
		body = binary.AppendUvarint(body, uint64(len(s)))
		body = append(body, s...)
	}
	str(e.Name)
	body = append(body, e.Typeflag)
	for _, v := range [...]int64{e.Mode, int64(e.Uid), int64(e.Gid), e.Size, e.ModTime, e.Devmajor, e.Devminor} {
		body = binary.AppendVarint(body, v)
	}
	str(e.Linkname)
	body = binary.AppendUvarint(body, uint64(len(e.Xattrs)))
	for k, v := range e.Xattrs {
		str(k)
		str(v)
	}
	b.rec = body
	if last := len(b.body) - 1; last >= 0 && len(b.body[last])+len(body) <= cap(b.body[last]) {
		b.body[last] = append(b.body[last], body...)
	} else {
		b.body = append(b.body, append(make([]byte, 0, max(indexChunk, len(body))), body...))
	}
	b.n++
}

// WriteTo writes the index file: magic, count, entries, checksum.
func (b *IndexBuilder) WriteTo(w io.Writer) (int64, error) {
	head := binary.AppendUvarint([]byte(indexMagic), uint64(b.n))
	crc := crc32.Checksum(head, castagnoli)
	for _, p := range b.body {
		crc = crc32.Update(crc, castagnoli, p)
	}
	parts := append(append([][]byte{head}, b.body...), binary.LittleEndian.AppendUint32(nil, crc))
	var n int64
	for _, p := range parts {
		m, err := w.Write(p)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errCorrupt = errors.New("corrupt layer index")

// decodeIndex parses an index file. Strings are slices of b itself, as
// one string: no allocation per name, and no copy of the file (8 MB for
// a 300,000-file layer). b must never be written again.
func decodeIndex(b []byte) ([]Entry, error) {
	if len(b) < len(indexMagic)+4 || string(b[:len(indexMagic)]) != indexMagic {
		return nil, errCorrupt
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, errCorrupt
	}
	d := decoder{s: unsafe.String(unsafe.SliceData(body), len(body)), i: len(indexMagic)}
	n := d.uvarint()
	if n > uint64(len(body)) { // every entry takes at least one byte
		return nil, errCorrupt
	}
	out := make([]Entry, n)
	for i := range out {
		e := &out[i]
		e.Name = d.str()
		e.Typeflag = d.byte()
		e.Mode = d.varint()
		e.Uid = int(d.varint())
		e.Gid = int(d.varint())
		e.Size = d.varint()
		e.ModTime = d.varint()
		e.Devmajor = d.varint()
		e.Devminor = d.varint()
		e.Linkname = d.str()
		if nx := d.uvarint(); nx > 0 && nx <= uint64(len(body)) {
			e.Xattrs = make(map[string]string, nx)
			for range nx {
				k := d.str()
				e.Xattrs[k] = d.str()
			}
		}
		if d.bad {
			return nil, errCorrupt
		}
	}
	if d.i != len(d.s) {
		return nil, errCorrupt
	}
	return out, nil
}

// decoder reads the index encoding; a short or malformed input sets bad
// and yields zero values from then on.
type decoder struct {
	s   string
	i   int
	bad bool
}

func (d *decoder) uvarint() uint64 {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.i >= len(d.s) {
			d.bad = true
			return 0
		}
		c := d.s[d.i]
		d.i++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x
		}
	}
	d.bad = true
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) byte() byte {
	if d.i >= len(d.s) {
		d.bad = true
		return 0
	}
	d.i++
	return d.s[d.i-1]
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.s)-d.i) {
		d.bad = true
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}

package archive

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// textBytes is compressible, tar-like content: repeated words with
// varying numbers.
func textBytes(n int) []byte {
	var b strings.Builder
	r := rand.New(rand.NewPCG(7, 8))
	words := []string{"layer", "image", "whale", "/usr/lib/", "config", "root", "0755", "\n"}
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return []byte(b.String()[:n])
}

// compressWith compresses data in writes of the given size.
func compressWith(t *testing.T, c Compression, jobs int, data []byte, write int) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewCompressor(&out, c, jobs)
	if err != nil {
		t.Fatal(err)
	}
	for p := data; len(p) > 0; {
		k := min(write, len(p))
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestGzipRoundTripMultiMember(t *testing.T) {
	data := append(textBytes(2*gzipChunk+1234), randomBytes(gzipChunk/2, 1)...)
	z := compressWith(t, Gzip, 2, data, 100_000)

	// The stdlib reader in single-member mode: one member per 1 MiB chunk.
	br := bytes.NewReader(z)
	zr, err := gzip.NewReader(br)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	members := 0
	for {
		zr.Multistream(false)
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("member %d: %v", members, err)
		}
		got = append(got, b...)
		members++
		if err := zr.Reset(br); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if members != 3 { // 2.5 MiB + 1234 bytes
		t.Errorf("members = %d, want 3 (one per started MiB)", members)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("round trip: got %d bytes, want %d", len(got), len(data))
	}
}

func TestGzipEmptyIsValid(t *testing.T) {
	z := compressWith(t, Gzip, 1, nil, 1)
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(zr); err != nil || len(b) != 0 {
		t.Fatalf("read empty stream: %q, %v", b, err)
	}
}

func TestZstdRoundTrip(t *testing.T) {
	data := append(textBytes(gzipChunk+99), randomBytes(1000, 2)...)
	z := compressWith(t, Zstd, 2, data, 70_000)
	zr, err := zstd.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("round trip: got %d bytes, want %d", len(got), len(data))
	}
}

func TestUncompressedPassesThrough(t *testing.T) {
	data := textBytes(5000)
	if got := compressWith(t, Uncompressed, 1, data, 333); !bytes.Equal(got, data) {
		t.Fatal("uncompressed output differs from input")
	}
}

func TestCompressDeterministic(t *testing.T) {
	b64 := []byte(base64.StdEncoding.EncodeToString(randomBytes(gzipChunk, 3)))
	data := append(append(textBytes(gzipChunk+5), randomBytes(gzipChunk, 4)...), b64...)
	for _, c := range []Compression{Gzip, Zstd} {
		want := compressWith(t, c, 1, data, len(data))
		for _, tc := range []struct{ jobs, write int }{{2, 4096}, {2, 1 << 20}, {4, 777}} {
			if got := compressWith(t, c, tc.jobs, data, tc.write); !bytes.Equal(got, want) {
				t.Errorf("%s jobs=%d write=%d: output differs from jobs=1", c, tc.jobs, tc.write)
			}
		}
	}
}

func TestGzipRatios(t *testing.T) {
	random := randomBytes(3*gzipChunk, 5)
	b64 := []byte(base64.StdEncoding.EncodeToString(randomBytes(2*gzipChunk, 6)))
	for _, tc := range []struct {
		name     string
		data     []byte
		min, max float64
	}{
		// Stored: only per-block and per-member framing on top.
		{"random", random, 1.0, 1.001},
		// Huffman coding alone reaches the 6 bits per byte of base64.
		{"base64", b64, 0.7, 0.8},
		{"text", textBytes(2 * gzipChunk), 0, 0.4},
	} {
		z := compressWith(t, Gzip, 2, tc.data, 1<<16)
		r := float64(len(z)) / float64(len(tc.data))
		if r < tc.min || r > tc.max {
			t.Errorf("%s: ratio %.4f, want in [%.3f, %.3f]", tc.name, r, tc.min, tc.max)
		}
	}
}

func TestGzipMethodChoice(t *testing.T) {
	s := &gzipSlot{}
	b64 := []byte(base64.StdEncoding.EncodeToString(randomBytes(gzipChunk, 9)))[:gzipChunk]
	for _, tc := range []struct {
		name string
		in   []byte
		want int
	}{
		{"random", randomBytes(gzipChunk, 8), 0},
		{"base64", b64, -2},
		{"text", textBytes(gzipChunk), gzipLevel},
		{"small", randomBytes(1000, 8), gzipLevel},
	} {
		if got := s.method(tc.in); got != tc.want {
			t.Errorf("%s: method %d, want %d", tc.name, got, tc.want)
		}
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestGzipWriteErrorSurfaces(t *testing.T) {
	w, err := NewCompressor(&failWriter{n: 1}, Gzip, 2)
	if err != nil {
		t.Fatal(err)
	}
	data := textBytes(6 * gzipChunk)
	var werr error
	for p := data; len(p) > 0 && werr == nil; p = p[min(len(p), 1<<20):] {
		_, werr = w.Write(p[:min(len(p), 1<<20)])
	}
	cerr := w.Close()
	if cerr == nil || !strings.Contains(cerr.Error(), "disk full") {
		t.Fatalf("Close = %v, want the write error", cerr)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestParseCompression(t *testing.T) {
	for s, want := range map[string]Compression{"": Gzip, "gzip": Gzip, "zstd": Zstd, "uncompressed": Uncompressed} {
		got, err := ParseCompression(s)
		if err != nil || got != want {
			t.Errorf("ParseCompression(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseCompression("lz4"); err == nil || !strings.Contains(err.Error(), "use gzip, zstd or uncompressed") {
		t.Errorf("ParseCompression(lz4) error = %v", err)
	}
	if _, err := NewCompressor(io.Discard, Xz, 1); err == nil {
		t.Error("NewCompressor accepted xz")
	}
}

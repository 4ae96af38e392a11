package archive

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// bzip2Tar is `tar -cf - hello.txt | bzip2 -9` of a file holding
// "hello from bzip2\n" (the standard library has no bzip2 writer).
var bzip2Tar = []byte{
	0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0x88, 0xdd,
	0x0b, 0xe2, 0x00, 0x00, 0x75, 0x7b, 0x84, 0xca, 0x90, 0x20, 0x40, 0x40,
	0x01, 0x7f, 0x00, 0x00, 0x80, 0x73, 0x66, 0xde, 0x50, 0x00, 0x00, 0x80,
	0x08, 0x20, 0x00, 0x75, 0x10, 0x53, 0x40, 0xd0, 0xd0, 0x34, 0xda, 0x80,
	0xc9, 0xea, 0x6d, 0x41, 0x25, 0x10, 0x68, 0x1a, 0x00, 0x00, 0x01, 0xf7,
	0x44, 0xec, 0x6a, 0x10, 0x3a, 0x10, 0x12, 0x1f, 0x53, 0x8a, 0x66, 0x96,
	0x31, 0xec, 0x49, 0x03, 0x41, 0xcd, 0x20, 0xe5, 0xbb, 0xf0, 0x43, 0x1a,
	0x11, 0x85, 0x42, 0x16, 0x31, 0xbb, 0x4b, 0x46, 0x62, 0x66, 0xd1, 0x7e,
	0x1e, 0x01, 0x29, 0xac, 0x41, 0x01, 0xe4, 0x10, 0x1a, 0x01, 0x24, 0x8e,
	0x8c, 0xeb, 0x52, 0x5f, 0xa6, 0xff, 0xa5, 0x49, 0x07, 0xe2, 0xee, 0x48,
	0xa7, 0x0a, 0x12, 0x11, 0x1b, 0xa1, 0x7c, 0x40,
}

func tarOf(t *testing.T, name, body string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func compress(t *testing.T, f Format, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch f {
	case Uncompressed:
		return data
	case Gzip:
		w = gzip.NewWriter(&b)
	case Xz:
		w, err = xz.NewWriter(&b)
	case Zstd:
		w, err = zstd.NewWriter(&b)
	default:
		t.Fatalf("cannot compress %v", f)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readTarFile(t *testing.T, r io.Reader) (string, string) {
	t.Helper()
	tr := tar.NewReader(r)
	h, err := tr.Next()
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	body, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return h.Name, string(body)
}

func TestDecompressFormats(t *testing.T) {
	plain := tarOf(t, "a/b.txt", "payload")
	for _, f := range []Format{Uncompressed, Gzip, Xz, Zstd} {
		t.Run(f.String(), func(t *testing.T) {
			rc, got, err := Decompress(bytes.NewReader(compress(t, f, plain)))
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if got != f {
				t.Errorf("format = %v, want %v", got, f)
			}
			r, ok, err := IsTar(rc)
			if err != nil || !ok {
				t.Fatalf("IsTar = %v, %v; want true", ok, err)
			}
			name, body := readTarFile(t, r)
			if name != "a/b.txt" || body != "payload" {
				t.Errorf("entry = %q %q", name, body)
			}
		})
	}
	t.Run("bzip2", func(t *testing.T) {
		rc, got, err := Decompress(bytes.NewReader(bzip2Tar))
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if got != Bzip2 {
			t.Errorf("format = %v, want bzip2", got)
		}
		r, ok, err := IsTar(rc)
		if err != nil || !ok {
			t.Fatalf("IsTar = %v, %v; want true", ok, err)
		}
		name, body := readTarFile(t, r)
		if name != "hello.txt" || body != "hello from bzip2\n" {
			t.Errorf("entry = %q %q", name, body)
		}
	})
}

func TestDecompressNotArchive(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"empty", ""},
		{"short", "hi"},
		{"text", strings.Repeat("not a tar header ", 64)},
		{"zeros", string(make([]byte, 1024))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, f, err := Decompress(strings.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if f != Uncompressed {
				t.Errorf("format = %v", f)
			}
			r, ok, err := IsTar(rc)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				t.Error("IsTar = true, want false")
			}
			all, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(all) != tc.data {
				t.Errorf("content changed by peeking: %d bytes, want %d", len(all), len(tc.data))
			}
		})
	}
}

func TestIsTarCorruptChecksum(t *testing.T) {
	b := tarOf(t, "x", "y")
	b[0] ^= 0x40 // the name changes, the stored checksum no longer matches
	_, ok, err := IsTar(bytes.NewReader(b))
	if err != nil || ok {
		t.Errorf("IsTar = %v, %v; want false, nil", ok, err)
	}
}

func TestDecompressCorruptGzip(t *testing.T) {
	_, _, err := Decompress(bytes.NewReader([]byte{0x1f, 0x8b, 0x08, 0x00}))
	if err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("err = %v, want a gzip error", err)
	}
}

func TestFormatString(t *testing.T) {
	if Zstd.String() != "zstd" || Format(42).String() != "Format(42)" {
		t.Errorf("got %s %s", Zstd, Format(42))
	}
}

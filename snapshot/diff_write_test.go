package snapshot

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
)

// TestLayerWriterContent checks that a file's content goes in whole, at
// sizes around the read buffer's, and that a file whose size is not the
// one its header promised fails the diff instead of corrupting the tar.
func TestLayerWriterContent(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name       string
		actual     int
		stat       int // the size the header was written with
		wantChange bool
	}{
		{"empty", 0, 0, false},
		{"small", 15, 15, false},
		{"buffer", copyBufSize, copyBufSize, false},
		{"buffer+1", copyBufSize + 1, copyBufSize + 1, false},
		{"large", 3*copyBufSize + 7, 3*copyBufSize + 7, false},
		{"grew", 16, 15, true},
		{"grew past buffer", copyBufSize + 1, copyBufSize, true},
		{"shrank", 14, 15, true},
		{"emptied", 0, 15, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("0123456789abcdef"), tc.actual/16+1)[:tc.actual]
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(p, body, 0o644); err != nil {
				t.Fatal(err)
			}
			fd, err := unix.Open(p, unix.O_RDONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			var b bytes.Buffer
			w := archive.NewWriter(&b, archive.WriterOptions{})
			if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "f", Mode: 0o644, Size: int64(tc.stat)}); err != nil {
				t.Fatal(err)
			}
			lw := &layerWriter{w: w}
			err = lw.content(t.Context(), fd, int64(tc.stat))
			if tc.wantChange {
				if err == nil || !strings.Contains(err.Error(), "changed size") {
					t.Fatalf("content = %v, want a changed-size error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(&b)
			if _, err := tr.Next(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(tr)
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("content of %d bytes read back as %d bytes, %v", len(body), len(got), err)
			}
		})
	}
}

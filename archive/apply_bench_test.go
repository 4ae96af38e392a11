package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchLayer is a layer shaped like a base image's: dirs directories of
// files small files each (64 bytes to 4 KiB), every twentieth file
// followed by a symlink to it and every fiftieth by a hard link.
func benchLayer(b *testing.B, dirs, files int) []byte {
	b.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1700000000, 0)
	content := bytes.Repeat([]byte("0123456789abcdef"), 256)
	write := func(h *tar.Header, body []byte) {
		h.ModTime, h.Size = mt, int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			b.Fatal(err)
		}
	}
	for d := range dirs {
		dir := fmt.Sprintf("usr/share/pkg%03d/", d)
		write(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755}, nil)
		for f := range files {
			name := fmt.Sprintf("%sfile%04d", dir, f)
			write(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}, content[:64+(d*files+f)%4000])
			if f%20 == 0 {
				write(&tar.Header{Name: name + ".lnk", Typeflag: tar.TypeSymlink, Linkname: filepath.Base(name)}, nil)
			}
			if f%50 == 0 {
				write(&tar.Header{Name: name + ".hard", Typeflag: tar.TypeLink, Linkname: name}, nil)
			}
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkApply applies a layer of 20,000 small files in 200
// directories (plus 1,000 symlinks and 400 hard links) into a fresh
// directory per iteration. For system call counts, run the test binary
// under strace -f -c with -test.benchtime=1x.
func BenchmarkApply(b *testing.B) {
	needRoot(b)
	layer := benchLayer(b, 200, 100)
	b.SetBytes(int64(len(layer)))
	base := b.TempDir()
	for i := 0; b.Loop(); i++ {
		dir := filepath.Join(base, fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(b.Context(), dir, bytes.NewReader(layer)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

package snapshot

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorae/gorae/archive"
)

// BenchmarkDiffSmallFiles is the diff of a RUN that wrote 10,000 small
// files (100 directories of 100 files of ~15 bytes) over an overlay:
// per-file costs (stat, xattrs, open, read, close, tar header) dominate.
func BenchmarkDiffSmallFiles(b *testing.B) {
	a := smallFilesActive(b)
	epoch := time.Unix(0, 0)
	for b.Loop() {
		w := archive.NewWriter(io.Discard, archive.WriterOptions{Epoch: &epoch})
		if _, err := a.Diff(b.Context(), w, nil); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClampTimesSmallFiles is ClampTimes after the diff of
// BenchmarkDiffSmallFiles; each round clamps to an earlier epoch, so
// that every entry is set again.
func BenchmarkClampTimesSmallFiles(b *testing.B) {
	a := smallFilesActive(b)
	w := archive.NewWriter(io.Discard, archive.WriterOptions{})
	if _, err := a.Diff(b.Context(), w, nil); err != nil {
		b.Fatal(err)
	}
	epoch := time.Now().Add(-time.Hour)
	for b.Loop() {
		epoch = epoch.Add(-time.Second)
		a.ClampTimes(epoch)
	}
}

// smallFilesActive is an overlay snapshot in which 10,000 files of ~15
// bytes were written, 100 per directory.
func smallFilesActive(b *testing.B) *Active {
	if os.Geteuid() != 0 {
		b.Skip("overlay snapshots need root")
	}
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	base := layerTar(b, td("bin", 0o755, 0, 0), tf("bin/sh", "sh"), td("etc", 0o755, 0, 0), tf("etc/passwd", "root"))
	lowers, err := s.Unpack(b.Context(), []Layer{bytesLayer(base)})
	if err != nil {
		b.Fatal(err)
	}
	a, err := s.Prepare(b.Context(), lowers)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Remove() })
	for d := range 100 {
		dir := filepath.Join(a.Merged, "data", fmt.Sprintf("d%d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 100 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", f)), fmt.Appendf(nil, "file %d/%d\n", d, f), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	return a
}

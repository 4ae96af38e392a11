package archive

import (
	"io"
	"runtime"
	"testing"
)

// BenchmarkCompressGzip reports MB/s of input for random (stored) and
// text-like (compressed at gzipLevel) data on all cores.
func BenchmarkCompressGzip(b *testing.B) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"random", randomBytes(16<<20, 1)},
		{"text", textBytes(16 << 20)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.data)))
			for b.Loop() {
				w, err := NewCompressor(io.Discard, Gzip, runtime.GOMAXPROCS(0))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.Write(tc.data); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package archive

import (
	"fmt"
	"io"
	"runtime"

	"github.com/klauspost/compress/zstd"
)

// Compression is how a layer blob is compressed when writing: Gzip, Zstd
// or Uncompressed. It is the Format that Decompress detects, so one set of
// constants names a compression in both directions; NewCompressor refuses
// the read-only formats Bzip2 and Xz. The zero value is Uncompressed (the
// zero Format); callers that want the usual default should start from
// DefaultCompression or ParseCompression("").
type Compression = Format

// DefaultCompression is what layers get unless asked otherwise: gzip, the
// format every registry and runtime accepts.
const DefaultCompression Compression = Gzip

// ParseCompression parses "gzip", "zstd" or "uncompressed", as written in
// --output compression=…; "" means DefaultCompression.
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "", "gzip":
		return Gzip, nil
	case "zstd":
		return Zstd, nil
	case "uncompressed":
		return Uncompressed, nil
	}
	return Uncompressed, fmt.Errorf("unknown compression %q: use gzip, zstd or uncompressed", s)
}

// NewCompressor returns a WriteCloser that compresses into w using up to
// jobs goroutines (jobs < 1 means GOMAXPROCS). Close flushes the stream;
// it does not close w. The output depends only on the input bytes and c,
// never on jobs, timing or how the input is split into Write calls, so
// equal layers get equal digests.
//
// Gzip is written as a sequence of independent gzip members, one per
// 1 MiB of input, compressed in parallel (see gzipWriter). Zstd uses
// klauspost zstd with WithEncoderConcurrency(jobs).
func NewCompressor(w io.Writer, c Compression, jobs int) (io.WriteCloser, error) {
	if jobs < 1 {
		jobs = runtime.GOMAXPROCS(0)
	}
	switch c {
	case Gzip:
		return newGzipWriter(w, jobs), nil
	case Zstd:
		return newZstdWriter(w, jobs)
	case Uncompressed:
		return nopCloser{w}, nil
	}
	return nil, fmt.Errorf("create compressor: cannot write %s: use gzip, zstd or uncompressed", c)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// zstdBlock is how much input is handed to the zstd encoder per Write, so
// that the encoder sees the same write sizes however the caller splits
// the input.
const zstdBlock = 1 << 20

type zstdWriter struct {
	enc *zstd.Encoder
	buf []byte
	err error
}

func newZstdWriter(w io.Writer, jobs int) (*zstdWriter, error) {
	enc, err := zstd.NewWriter(w,
		zstd.WithEncoderConcurrency(jobs),
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithZeroFrames(true),
	)
	if err != nil {
		return nil, fmt.Errorf("create zstd encoder: %w", err)
	}
	return &zstdWriter{enc: enc, buf: make([]byte, 0, zstdBlock)}, nil
}

func (z *zstdWriter) Write(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(z.buf[len(z.buf):cap(z.buf)], p)
		z.buf = z.buf[:len(z.buf)+k]
		p = p[k:]
		if len(z.buf) == cap(z.buf) {
			if _, err := z.enc.Write(z.buf); err != nil {
				z.err = fmt.Errorf("zstd compress: %w", err)
				return n - len(p), z.err
			}
			z.buf = z.buf[:0]
		}
	}
	return n, nil
}

func (z *zstdWriter) Close() error {
	if z.err != nil {
		z.enc.Close()
		return z.err
	}
	if len(z.buf) > 0 {
		if _, err := z.enc.Write(z.buf); err != nil {
			z.enc.Close()
			return fmt.Errorf("zstd compress: %w", err)
		}
	}
	if err := z.enc.Close(); err != nil {
		return fmt.Errorf("zstd compress: %w", err)
	}
	z.err = errClosed
	return nil
}

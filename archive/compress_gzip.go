package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

var errClosed = errors.New("write to closed compressor")

const (
	// gzipChunk is the input size of one gzip member. Large enough that
	// the per-member cost (a 20-byte header and trailer and a cold
	// dictionary) is lost in the noise, small enough that memory stays
	// a few MiB per job.
	gzipChunk = 1 << 20
	// gzipLevel is the level for chunks that compress well. Measured with
	// klauspost flate on 40 MB tars of Debian's /usr/share/doc and
	// /usr/bin: level 5 comes within 0.7% of level 6 (Docker's default)
	// and 2.5% of level 9, while levels 7 and up cost 2-5 times the CPU.
	gzipLevel = 5
	// storeEntropy is the byte entropy (bits per byte) above which a
	// sampled piece counts as random; a chunk whose pieces all do is
	// stored, since Huffman coding could save at most (8-H)/8, about 1%.
	storeEntropy = 7.9
	// huffmanRatio: when gzipLevel on the sampled pieces gets them no
	// smaller than this fraction of Huffman coding alone, string matching
	// is not worth its CPU and the chunk gets HuffmanOnly. Lower values
	// sent mixed chunks (tars of text and .gz files) to Huffman coding.
	huffmanRatio = 0.99
	// The method is chosen from samplePieces evenly spaced pieces of
	// samplePiece bytes: 128 KiB of a 1 MiB chunk.
	samplePieces = 8
	samplePiece  = 16 << 10
)

// gzipWriter writes a multi-member gzip stream. Input is cut into fixed
// gzipChunk pieces regardless of Write boundaries; each piece becomes one
// independent member, compressed on one of jobs worker slots, and members
// are written to w in input order by a single goroutine. At most jobs
// chunks wait in the queue besides the one being written and the one being
// filled, so memory is bounded whatever the layer size. Every gzip reader
// accepts multi-member streams (RFC 1952, section 2.2).
type gzipWriter struct {
	buf     []byte
	queue   chan *gzipChunkJob
	slots   chan *gzipSlot
	done    chan struct{}
	free    chan []byte // recycled chunk buffers
	mu      sync.Mutex
	err     error // first error writing to w, guarded by mu
	closed  bool
	members int
}

type gzipChunkJob struct {
	in    []byte
	out   bytes.Buffer
	err   error
	ready chan struct{}
}

// gzipSlot is one worker's reusable compression state.
type gzipSlot struct {
	writers map[int]*gzip.Writer
	probe   *flate.Writer
	huff    *flate.Writer
	counter countWriter
}

func newGzipWriter(w io.Writer, jobs int) *gzipWriter {
	g := &gzipWriter{
		queue: make(chan *gzipChunkJob, jobs),
		slots: make(chan *gzipSlot, jobs),
		done:  make(chan struct{}),
		free:  make(chan []byte, jobs+2),
	}
	for range jobs {
		g.slots <- &gzipSlot{writers: map[int]*gzip.Writer{}}
	}
	g.buf = g.getBuf()
	go g.drain(w)
	return g
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if g.closed {
		return 0, errClosed
	}
	if err := g.firstErr(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(g.buf[len(g.buf):gzipChunk], p)
		g.buf = g.buf[:len(g.buf)+k]
		p = p[k:]
		if len(g.buf) == gzipChunk {
			g.submit()
		}
	}
	return n, nil
}

// Close compresses what is left, waits for every member to be written
// and returns the first error. An empty input still gives one (empty)
// member, so the result is a valid gzip stream.
func (g *gzipWriter) Close() error {
	if g.closed {
		return g.firstErr()
	}
	g.closed = true
	if len(g.buf) > 0 || g.members == 0 {
		g.submit()
	}
	close(g.queue)
	<-g.done
	return g.firstErr()
}

func (g *gzipWriter) submit() {
	j := &gzipChunkJob{in: g.buf, ready: make(chan struct{})}
	g.members++
	g.buf = g.getBuf()
	g.queue <- j // blocks while jobs chunks are already waiting: bounds memory
	slot := <-g.slots
	go func() {
		j.err = slot.compress(&j.out, j.in)
		g.slots <- slot
		close(j.ready)
	}()
}

// drain writes members in order; after an error it keeps consuming the
// queue so that submitters never block, and drops the output.
func (g *gzipWriter) drain(w io.Writer) {
	defer close(g.done)
	for j := range g.queue {
		<-j.ready
		err := j.err
		if err == nil && g.firstErr() == nil {
			if _, werr := w.Write(j.out.Bytes()); werr != nil {
				err = fmt.Errorf("write compressed layer: %w", werr)
			}
		}
		if err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
		}
		select {
		case g.free <- j.in[:0]:
		default:
		}
	}
}

func (g *gzipWriter) getBuf() []byte {
	select {
	case b := <-g.free:
		return b
	default:
		return make([]byte, 0, gzipChunk)
	}
}

func (g *gzipWriter) firstErr() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

func (s *gzipSlot) compress(out *bytes.Buffer, in []byte) error {
	level := s.method(in)
	zw := s.writers[level]
	if zw == nil {
		var err error
		if zw, err = gzip.NewWriterLevel(out, level); err != nil {
			return fmt.Errorf("gzip compress: %w", err)
		}
		s.writers[level] = zw
	} else {
		zw.Reset(out)
	}
	out.Grow(len(in)/2 + 64)
	if _, err := zw.Write(in); err != nil {
		return fmt.Errorf("gzip compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("gzip compress: %w", err)
	}
	return nil
}

// method picks the flate level for one chunk from a sample of it, so the
// choice depends on the bytes alone. Random-looking data (every sampled
// piece near 8 bits per byte: compressed files, encrypted data) is stored,
// costing about a memcpy; data where string matching finds almost nothing
// beyond what Huffman coding gives (base64, other encodings) gets
// HuffmanOnly, several times faster than a full level; everything else
// gets gzipLevel. Pieces are judged separately so that a mixed chunk, say
// a tar of text and .gz files, is not mistaken for random as a whole.
func (s *gzipSlot) method(in []byte) int {
	if len(in) < samplePieces*samplePiece {
		return gzipLevel
	}
	step := (len(in) - samplePiece) / (samplePieces - 1)
	random := true
	for i := range samplePieces {
		if entropy(in[i*step:i*step+samplePiece]) < storeEntropy {
			random = false
			break
		}
	}
	if random {
		return flate.NoCompression
	}
	if s.probe == nil {
		s.probe, _ = flate.NewWriter(&s.counter, gzipLevel)
		s.huff, _ = flate.NewWriter(&s.counter, flate.HuffmanOnly)
	}
	var lz, huff countWriter
	for i := 0; i < samplePieces; i += 2 {
		piece := in[i*step : i*step+samplePiece]
		lz += s.measure(s.probe, piece)
		huff += s.measure(s.huff, piece)
	}
	if float64(lz) > huffmanRatio*float64(huff) {
		return flate.HuffmanOnly
	}
	return gzipLevel
}

func (s *gzipSlot) measure(fw *flate.Writer, p []byte) countWriter {
	s.counter = 0
	fw.Reset(&s.counter)
	_, _ = fw.Write(p)
	_ = fw.Close()
	return s.counter
}

// entropy is the order-0 Shannon entropy of p in bits per byte.
func entropy(p []byte) float64 {
	var hist [256]int
	for _, b := range p {
		hist[b]++
	}
	n := float64(len(p))
	h := 0.0
	for _, c := range hist {
		if c > 0 {
			f := float64(c) / n
			h -= f * math.Log2(f)
		}
	}
	return h
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

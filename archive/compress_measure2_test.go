package archive

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func TestMeasureChunks(t *testing.T) {
	if os.Getenv("MEASURE") == "" {
		t.Skip()
	}
	size := func(b []byte, lvl int) int {
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, lvl)
		zw.Write(b)
		zw.Close()
		return out.Len()
	}
	s := &gzipSlot{writers: map[int]*gzip.Writer{}}
	for _, f := range []string{"/tmp/arch-measure/t.tar", "/tmp/arch-measure/b.tar"} {
		data, _ := os.ReadFile(f)
		for off := 0; off < len(data); off += 4 * gzipChunk {
			c := data[off:min(off+gzipChunk, len(data))]
			sample := s.takeSample(c)
			h := entropy(sample)
			s.method(c)
			huff := h * float64(len(sample)) / 8
			fmt.Printf("H %.2f probe/huff %.3f  l5 %.3f huff %.3f pick %d\n", h, float64(s.counter)/huff, float64(size(c, 5))/float64(len(c)), float64(size(c, -2))/float64(len(c)), s.method(c))
		}
	}
}

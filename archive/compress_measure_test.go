package archive

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

func TestMeasureLevels(t *testing.T) {
	if os.Getenv("MEASURE") == "" {
		t.Skip()
	}
	for _, f := range []string{"/tmp/arch-measure/t.tar", "/tmp/arch-measure/b.tar"} {
		data, _ := os.ReadFile(f)
		for _, lvl := range []int{1, 3, 4, 5, 6, 7, 9, -2} {
			var out bytes.Buffer
			st := time.Now()
			for off := 0; off < len(data); off += gzipChunk {
				zw, _ := gzip.NewWriterLevel(&out, lvl)
				zw.Write(data[off:min(off+gzipChunk, len(data))])
				zw.Close()
			}
			d := time.Since(st)
			fmt.Printf("%s lvl %d ratio %.4f %.0f MB/s\n", f, lvl, float64(out.Len())/float64(len(data)), float64(len(data))/d.Seconds()/1e6)
		}
		var out bytes.Buffer
		st := time.Now()
		w, _ := NewCompressor(&out, Gzip, 1)
		w.Write(data)
		w.Close()
		d := time.Since(st)
		fmt.Printf("%s ours ratio %.4f %.0f MB/s\n", f, float64(out.Len())/float64(len(data)), float64(len(data))/d.Seconds()/1e6)
	}
}

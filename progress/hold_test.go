package progress

import (
	"bytes"
	"testing"
	"time"

	"github.com/gorae/gorae/solver"
)

// TestHold: what a held Printer is asked to show appears, in order, only
// on Release; after Drop nothing appears, not even on Close.
func TestHold(t *testing.T) {
	var buf bytes.Buffer
	p := newPrinter(&buf, "plain", nil, time.Now)
	p.Hold()
	p.Event(solver.Event{Vertex: "[1/2] FROM x", Status: solver.Cached})
	p.Logf("naming to %s", "x")
	p.Output("[2/2] RUN y").Write([]byte("out\n"))
	if buf.Len() != 0 {
		t.Fatalf("shown while held: %q", buf.String())
	}
	p.Release()
	want := "#1 [1/2] FROM x\n#1 CACHED\n\nnaming to x\n\n#2 [2/2] RUN y\n#2 0.000 out\n"
	if buf.String() != want {
		t.Errorf("released: %q, want %q", buf.String(), want)
	}
	p.Logf("after")
	if got := buf.String(); got != want+"#2 ...\n\nafter\n" {
		t.Errorf("after Release: %q", got)
	}

	buf.Reset()
	q := newPrinter(&buf, "tty", func() (int, int) { return 80, 24 }, time.Now)
	q.Hold()
	q.Event(solver.Event{Vertex: "[1/2] FROM x", Status: solver.Cached})
	q.Drop()
	q.Logf("dropped")
	q.Close()
	if buf.Len() != 0 {
		t.Errorf("a dropped Printer showed %q", buf.String())
	}
}

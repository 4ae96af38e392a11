package progress

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gorae/gorae/solver"
)

// plainEvent records a solver event in the plain display and shows what
// is due; p.mu is held.
func (p *Printer) plainEvent(e solver.Event) {
	t := e.Time
	if t.IsZero() {
		t = p.now()
	}
	s := p.plain.step(e.Vertex, t)
	switch e.Status {
	case solver.Waiting:
		s.begin(t)
		s.waits = true
		s.lines = append(s.lines, "WAITING for another build running the same step")
	case solver.Started:
		if !s.open() || s.waits { // the other build saved nothing: run it here
			s.begin(t)
		}
		s.waits = false
	case solver.Cached:
		s.finish("CACHED", t)
	case solver.Done:
		s.finish("DONE "+seconds(e.Duration), t)
	case solver.Failed:
		s.finish(failure(e), t)
	}
	s.update(t)
	p.plainShow()
}

// failure is the end line of a failed step: CANCELED when it stopped
// because the build did (another step failed, or an interrupt), as
// BuildKit says; otherwise ERROR and the error's Summary if it has one
// (a RUN's, without the output lines the block showed already), else its
// first line. The whole error follows the display.
func failure(e solver.Event) string {
	var ve *solver.VertexError
	if errors.Is(e.Err, context.Canceled) || (errors.As(e.Err, &ve) && ve.Vertex != e.Vertex) {
		return "CANCELED"
	}
	var short summarizer
	switch {
	case errors.As(e.Err, &short):
		return "ERROR: " + short.Summary()
	case e.Err == nil:
		return "ERROR: unknown error"
	}
	msg, _, _ := strings.Cut(e.Err.Error(), "\n")
	return "ERROR: " + msg
}

// summarizer is an error that can say itself in one line.
type summarizer interface{ Summary() string }

// plainShow shows what is due and, when lines still wait, makes sure a
// timer shows them later; p.mu is held.
func (p *Printer) plainShow() {
	p.plainPrint(false)
}

func (p *Printer) plainPrint(idle bool) {
	if p.closed { // the build is over: nothing waits any more
		p.plain.flush(p.now())
		return
	}
	p.plain.print(p.now(), idle)
	if p.tick == nil && p.tickEvery > 0 && p.plain.pending() {
		p.tick = time.AfterFunc(p.tickEvery, p.plainTick)
	}
}

func (p *Printer) plainTick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tick = nil
	if p.closed || p.holding || p.dropped {
		return
	}
	p.plainPrint(true)
}

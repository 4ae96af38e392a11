package builder

import (
	"context"
	"io"
)

// ctxReader reads r until ctx ends. A read blocked on a stalled pipe
// (`producer | gorae build -`) returns ctx's error at once on Ctrl-C
// instead of holding the build until the producer closes the pipe. The
// abandoned read finishes in the background into a buffer of its own,
// never into the caller's; after it nothing more is read.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	buf []byte // owned by the read in flight, if any
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := context.Cause(c.ctx); err != nil {
		return 0, err
	}
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	buf := c.buf[:len(p)]
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := c.r.Read(buf)
		done <- result{n, err}
	}()
	select {
	case res := <-done:
		return copy(p, buf[:res.n]), res.err
	case <-c.ctx.Done():
		c.buf = nil // still the abandoned read's
		return 0, context.Cause(c.ctx)
	}
}

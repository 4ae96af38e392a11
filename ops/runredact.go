package ops

import (
	"bytes"
	"io"
	"slices"
	"sync"
)

// redactMask replaces every secret value in a RUN's output.
const redactMask = "****"

// redactor hides secret values in a command's output before it reaches the
// progress display or the failure message. A value may be split across
// Write calls (the pipe hands out arbitrary chunks), so the bytes at the
// end of a write that could still grow into a value are held back until
// the next write shows whether they do, or until Close. Values may span
// lines; nothing else is buffered, so output still streams.
type redactor struct {
	mu      sync.Mutex
	w       io.Writer
	secrets [][]byte // longest first, so an overlapping longer value wins
	pending []byte
}

// newRedactor returns w itself when there is nothing to hide.
func newRedactor(w io.Writer, secrets [][]byte) io.WriteCloser {
	var s [][]byte
	for _, v := range secrets {
		if len(v) > 0 {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return nopCloser{w}
	}
	slices.SortFunc(s, func(a, b []byte) int { return len(b) - len(a) })
	return &redactor{w: w, secrets: s}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (r *redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	buf := append(r.pending, p...)
	out, rest := r.scan(buf, false)
	r.pending = append(r.pending[:0:0], rest...)
	if len(out) > 0 {
		if _, err := r.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Close writes out what was held back; the command has ended, so it can
// no longer become a secret value.
func (r *redactor) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	out, _ := r.scan(r.pending, true)
	r.pending = nil
	if len(out) == 0 {
		return nil
	}
	_, err := r.w.Write(out)
	return err
}

// scan returns buf with every whole value masked, and, unless final, the
// tail that is a proper prefix of some value (kept for the next write).
func (r *redactor) scan(buf []byte, final bool) (out, rest []byte) {
	out = make([]byte, 0, len(buf))
	for i := 0; i < len(buf); {
		tail := buf[i:]
		if v := r.matchAt(tail); v > 0 {
			out = append(out, redactMask...)
			i += v
			continue
		}
		if !final && r.partial(tail) {
			return out, tail
		}
		out = append(out, buf[i])
		i++
	}
	return out, nil
}

// matchAt is the length of the (longest) value tail starts with, or 0.
func (r *redactor) matchAt(tail []byte) int {
	for _, v := range r.secrets {
		if bytes.HasPrefix(tail, v) {
			return len(v)
		}
	}
	return 0
}

// partial reports whether tail is a proper prefix of some value: more
// output may complete it.
func (r *redactor) partial(tail []byte) bool {
	for _, v := range r.secrets {
		if len(tail) < len(v) && bytes.HasPrefix(v, tail) {
			return true
		}
	}
	return false
}

package progress

import (
	"errors"
	"io"
)

// MeteredReader reports the bytes read through it as a transfer through
// Transfer (a Printer's Transfer): finished at the end of the blob (then
// OnEnd, if set, gets its size), dropped when closed before. A nil
// Transfer shows nothing.
type MeteredReader struct {
	io.ReadCloser
	Transfer func(id, label string, done, total int64)
	ID       string // the transfer's identity
	// Running and Finished label the transfer while under way and once
	// done.
	Running, Finished string
	Total             int64 // 0 = unknown: the transfer shows bytes only
	OnEnd             func(size int64)

	done  int64
	ended bool
}

func (r *MeteredReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.done += int64(n)
	switch {
	case r.ended:
	case errors.Is(err, io.EOF) || (r.Total > 0 && r.done >= r.Total):
		r.ended = true
		r.report(r.ID, r.Finished, r.done, r.done)
		if r.OnEnd != nil {
			r.OnEnd(r.done)
		}
	case n > 0:
		r.report(r.ID, r.Running, r.done, r.Total)
	}
	return n, err
}

func (r *MeteredReader) Close() error {
	if !r.ended {
		r.ended = true
		r.report(r.ID, "", -1, 0)
	}
	return r.ReadCloser.Close()
}

func (r *MeteredReader) report(id, label string, done, total int64) {
	if r.Transfer != nil {
		r.Transfer(id, label, done, total)
	}
}

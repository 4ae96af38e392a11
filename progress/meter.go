package progress

import (
	"errors"
	"io"
)

// MeteredReader reports the bytes read through it as a transfer on P:
// finished at the end of the blob (then OnEnd, if set, gets its size),
// dropped when closed before. A nil P shows nothing.
type MeteredReader struct {
	io.ReadCloser
	P  *Printer
	ID string // the transfer's identity
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
		r.P.Transfer(r.ID, r.Finished, r.done, r.done)
		if r.OnEnd != nil {
			r.OnEnd(r.done)
		}
	case n > 0:
		r.P.Transfer(r.ID, r.Running, r.done, r.Total)
	}
	return n, err
}

func (r *MeteredReader) Close() error {
	if !r.ended {
		r.ended = true
		r.P.Transfer(r.ID, "", -1, 0)
	}
	return r.ReadCloser.Close()
}

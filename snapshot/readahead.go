package snapshot

import "io"

// readAhead reads r in its own goroutine, up to depth chunks of size
// bytes ahead of the consumer: a layer's decompression then runs on one
// core while Apply's system calls run on another, instead of taking
// turns.
type readAhead struct {
	full   chan chunk
	free   chan []byte
	done   chan struct{}
	exited chan struct{}
	cur    chunk
	off    int
	rc     io.ReadCloser
}

type chunk struct {
	buf []byte
	n   int
	err error
}

func newReadAhead(rc io.ReadCloser, size, depth int) *readAhead {
	ra := &readAhead{
		full:   make(chan chunk, depth),
		free:   make(chan []byte, depth),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
		rc:     rc,
	}
	for range depth {
		ra.free <- make([]byte, size)
	}
	go ra.fill()
	return ra
}

func (ra *readAhead) fill() {
	defer close(ra.exited)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		n, err := io.ReadFull(ra.rc, buf)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case ra.full <- chunk{buf, n, err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for ra.off == ra.cur.n {
		if ra.cur.err != nil {
			return 0, ra.cur.err
		}
		if ra.cur.buf != nil {
			ra.free <- ra.cur.buf
		}
		ra.cur, ra.off = <-ra.full, 0
	}
	n := copy(p, ra.cur.buf[ra.off:ra.cur.n])
	ra.off += n
	return n, nil
}

// Close stops the reader, waits for its goroutine to leave the
// underlying stream, and closes that.
func (ra *readAhead) Close() error {
	close(ra.done)
	<-ra.exited
	return ra.rc.Close()
}

package snapshot

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

func TestReadAheadGivesTheStream(t *testing.T) {
	data := make([]byte, 1<<20+123)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	for _, size := range []int{1, 7, 4096, 1 << 20, 2 << 20} {
		ra := newReadAhead(io.NopCloser(iotest.HalfReader(bytes.NewReader(data))), size, 3)
		got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(ra, 5000)))
		if err != nil || !bytes.Equal(got, data[:5000]) {
			t.Fatalf("size %d: first 5000 bytes differ (err %v)", size, err)
		}
		rest, err := io.ReadAll(ra)
		if err != nil || !bytes.Equal(rest, data[5000:]) {
			t.Fatalf("size %d: rest differs (err %v, %d bytes)", size, err, len(rest))
		}
		if err := ra.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadAheadPassesErrorsAndStopsEarly(t *testing.T) {
	boom := errors.New("boom")
	ra := newReadAhead(io.NopCloser(io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(boom))), 2, 2)
	got, err := io.ReadAll(ra)
	if string(got) != "abc" || !errors.Is(err, boom) {
		t.Fatalf("got %q, %v; want abc, boom", got, err)
	}
	ra.Close()

	// Closed before the end: the goroutine leaves, Close returns.
	closed := false
	ra = newReadAhead(closeFunc{bytes.NewReader(make([]byte, 1<<20)), func() { closed = true }}, 1024, 2)
	buf := make([]byte, 10)
	if _, err := ra.Read(buf); err != nil {
		t.Fatal(err)
	}
	ra.Close()
	if !closed {
		t.Fatal("Close did not close the underlying reader")
	}
}

type closeFunc struct {
	io.Reader
	fn func()
}

func (c closeFunc) Close() error { c.fn(); return nil }

package builder

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestCtxReaderReads(t *testing.T) {
	b, err := io.ReadAll(&ctxReader{ctx: t.Context(), r: strings.NewReader(strings.Repeat("x", 100000))})
	if err != nil || len(b) != 100000 {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
}

// A read blocked on a pipe whose writer stalls returns when ctx ends.
func TestCtxReaderCancelled(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := io.ReadAll(&ctxReader{ctx: ctx, r: pr})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v after %v, want context.Canceled at once", err, time.Since(start))
	}
}

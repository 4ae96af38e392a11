package flock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestLock: an exclusive lock excludes another (in this process too)
// until released, calling OnWait once; shared locks share; a wait ends
// with its context's cause.
func TestLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	w := Wait{Min: time.Millisecond, Max: 10 * time.Millisecond}
	unlock, err := Lock(t.Context(), p, 0o600, true, w)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("gave up")
	ctx, cancel := context.WithCancelCause(t.Context())
	waits := 0
	time.AfterFunc(50*time.Millisecond, func() { cancel(stop) })
	if _, err := Lock(ctx, p, 0o600, false, Wait{Min: time.Millisecond, OnWait: func() { waits++ }}); !errors.Is(err, stop) || waits != 1 {
		t.Fatalf("a held lock: %v after %d OnWait calls, want the cause after 1", err, waits)
	}
	done := make(chan error)
	go func() {
		u, err := Lock(t.Context(), p, 0o600, true, w)
		if err == nil {
			u()
		}
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	unlock()
	if err := <-done; err != nil {
		t.Fatalf("after release: %v", err)
	}
	u1, err := Lock(t.Context(), p, 0o600, false, w)
	if err != nil {
		t.Fatal(err)
	}
	defer u1()
	ctx, cancel2 := context.WithTimeout(t.Context(), time.Second)
	defer cancel2()
	u2, err := Lock(ctx, p, 0o600, false, w)
	if err != nil {
		t.Fatalf("two shared locks: %v", err)
	}
	u2()
	if _, err := Lock(t.Context(), filepath.Join(p, "below-a-file"), 0o600, true, w); err == nil {
		t.Error("a path that cannot be opened locked")
	}
}

package gc

import (
	"context"
	"errors"
	"testing"

	"github.com/gorae/gorae/root"
)

// TestPruneSaysWhenItWaits: Prune calls Waiting once when a build holds
// the root (shared gc.lock) and then waits for it, and does not call it
// when nothing holds the root.
func TestPruneSaysWhenItWaits(t *testing.T) {
	root, err := root.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	calls := 0
	if _, err := Prune(t.Context(), root, PruneOptions{Waiting: func() { calls++ }}); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("Waiting called %d times on an idle root, want 0", calls)
	}

	release, err := root.Lock(t.Context(), false) // a running build
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{}, 2)
	done := make(chan error, 1)
	go func() {
		_, err := Prune(t.Context(), root, PruneOptions{Waiting: func() { waiting <- struct{}{} }})
		done <- err
	}()
	<-waiting // Prune found the root busy and said so
	select {
	case err := <-done:
		t.Fatalf("Prune returned (%v) while a build held the root", err)
	default:
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(waiting) != 0 {
		t.Error("Waiting called more than once")
	}

	// Interrupted while waiting: the context's error, nothing removed.
	release, err = root.Lock(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(t.Context())
	_, err = Prune(ctx, root, PruneOptions{Waiting: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Prune cancelled while waiting: %v, want context.Canceled", err)
	}
}

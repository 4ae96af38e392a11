package builder

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/gc"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/solver"
)

func openTestRoot(t *testing.T) *root.Root {
	t.Helper()
	r, err := root.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestClaimWaitsForHolder: a second claim of a held key waits (saying so
// once) until its context ends, and gets the key once it is released.
func TestClaimWaitsForHolder(t *testing.T) {
	root := openTestRoot(t)
	bc := &buildCache{root: root, compression: archive.Gzip}
	k := solver.Key(sha256.Sum256([]byte("RUN make")))
	release, err := bc.Claim(t.Context(), k, func() { t.Error("the first claim waited") })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root.Dir, "locks", bc.key(k).String()[len("sha256:"):])); err != nil {
		t.Errorf("no lock file named for the salted key: %v", err)
	}

	stop := errors.New("interrupted")
	ctx, cancel := context.WithCancelCause(t.Context())
	waits := 0
	done := make(chan error, 1)
	go func() {
		_, err := bc.Claim(ctx, k, func() { waits++; cancel(stop) })
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, stop) || waits != 1 {
			t.Errorf("claim of a held key: %v after %d waits, want the cancellation cause after 1", err, waits)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled claim did not return")
	}

	// Records kept apart are locked apart: another compression does not
	// wait, and --no-cache never waits.
	other := &buildCache{root: root, compression: archive.Zstd}
	r2, err := other.Claim(t.Context(), k, func() { t.Error("a claim under another compression waited") })
	if err != nil {
		t.Fatal(err)
	}
	r2()
	nc := &buildCache{root: root, compression: archive.Gzip, noCache: true}
	r3, err := nc.Claim(t.Context(), k, func() { t.Error("a --no-cache claim waited") })
	if err != nil {
		t.Fatal(err)
	}
	r3()

	got := make(chan error, 1)
	go func() {
		r, err := bc.Claim(t.Context(), k, nil)
		if err == nil {
			r()
		}
		got <- err
	}()
	release()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("claim after release: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a released key could not be claimed")
	}
}

// TestPruneRemovesLocks: prune, which runs only when no build does,
// removes the step lock files.
func TestPruneRemovesLocks(t *testing.T) {
	root := openTestRoot(t)
	bc := &buildCache{root: root, compression: archive.Gzip}
	release, err := bc.Claim(t.Context(), solver.Key{1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := gc.Prune(t.Context(), root, gc.PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(filepath.Join(root.Dir, "locks")); len(ents) > 0 || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("locks/ after prune: %v, %v", ents, err)
	}
	// And a claim recreates the directory.
	release, err = bc.Claim(t.Context(), solver.Key{1}, nil)
	if err != nil {
		t.Fatalf("claim after prune: %v", err)
	}
	release()
}

package root

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func openTest(t *testing.T, dir string) *Root {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestLockSharedAndExclusive: builds share gc.lock; GC gets it only when
// no build holds it, and a build waits for GC until its context ends.
func TestLockSharedAndExclusive(t *testing.T) {
	r := openTest(t, t.TempDir())
	a, err := r.Lock(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Lock(t.Context(), false)
	if err != nil {
		t.Fatalf("a second shared lock: %v", err)
	}
	if _, ok, err := r.TryLockExclusive(); ok || err != nil {
		t.Fatalf("TryLockExclusive beside builds = %v, %v; want not taken", ok, err)
	}
	a()
	b()
	unlock, ok, err := r.TryLockExclusive()
	if !ok || err != nil {
		t.Fatalf("TryLockExclusive on an idle root = %v, %v", ok, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := r.Lock(ctx, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a build beside GC: %v, want it to wait until its context ends", err)
	}
	unlock()
	c, err := r.Lock(t.Context(), false)
	if err != nil {
		t.Fatalf("a build after GC: %v", err)
	}
	c()
}

// TestOpenRemovesDeadProcessesTmp: a killed process's temp directory goes
// at the next Open; a live one's stays, and so does this process's.
func TestOpenRemovesDeadProcessesTmp(t *testing.T) {
	dir := t.TempDir()
	first := openTest(t, dir)
	dead := filepath.Join(dir, "tmp", "999999999.x")
	live := filepath.Join(dir, "tmp", "1.x") // init never goes away
	for _, d := range []string{dead, live} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	second := openTest(t, dir)
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dead process's temp directory survived Open: %v", err)
	}
	for _, d := range []string{live, first.Tmp, second.Tmp} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("Open removed a live process's temp directory %s: %v", d, err)
		}
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(second.Tmp); !errors.Is(err, os.ErrNotExist) {
		t.Error("Close left this process's temp directory")
	}
}

// TestRemoveStepLocks: the step locks go into the trash; a root without
// any is fine.
func TestRemoveStepLocks(t *testing.T) {
	r := openTest(t, t.TempDir())
	release, err := r.Claim(t.Context(), "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	trash := t.TempDir()
	if err := r.RemoveStepLocks(trash); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "locks")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("locks/ is still there: %v", err)
	}
	if err := r.RemoveStepLocks(trash); err != nil {
		t.Errorf("a second removal: %v", err)
	}
}

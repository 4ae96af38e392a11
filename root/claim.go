package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gorae/gorae/flock"
)

// Claim polling backs off from claimPollMin to claimPollMax: a short
// step's waiter goes on soon after it ends, a long one's costs little.
const (
	claimPollMin = 5 * time.Millisecond
	claimPollMax = 100 * time.Millisecond
)

// Claim takes an exclusive flock on locks/<name>, polling so that a
// cancelled build stops waiting at once (a blocking flock cannot be
// interrupted by a context). onWait is called once, before the first
// wait. The kernel drops the lock when its holder dies, even by SIGKILL,
// so a killed build never blocks the next one. The lock files stay;
// gorae prune, which runs only when no build does, removes them.
func (r *Root) Claim(ctx context.Context, name string, onWait func()) (release func(), err error) {
	dir := filepath.Join(r.Dir, "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create step lock: %w", err)
	}
	release, err = flock.Lock(ctx, filepath.Join(dir, name), 0o600, true, flock.Wait{Min: claimPollMin, Max: claimPollMax, OnWait: onWait})
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("lock step: %w", err)
	}
	return release, err
}

// RemoveStepLocks moves the step lock files into trash. The caller holds
// gc.lock exclusively, so no build runs and no step lock is held.
func (r *Root) RemoveStepLocks(trash string) error {
	err := os.Rename(filepath.Join(r.Dir, "locks"), filepath.Join(trash, "locks"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove step locks: %w", err)
	}
	return nil
}

package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gorae/gorae/flock"
)

// Lock takes the root's GC lock: shared by everything that writes blobs
// and then names them (build, pull, load, import), exclusive for prune,
// so prune never deletes a blob between its write and its naming. It
// waits for the lock until ctx ends.
func (r *Root) Lock(ctx context.Context, exclusive bool) (unlock func(), err error) {
	unlock, err = flock.Lock(ctx, filepath.Join(r.Dir, "gc.lock"), 0o600, exclusive, flock.Wait{Min: 50 * time.Millisecond})
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("lock gorae root: %w", err)
	}
	return unlock, err
}

// TryLockExclusive takes gc.lock exclusively if nobody holds it, without
// waiting: ok is false while any build, pull, load or prune runs. The
// kernel drops a flock when its holder dies, even by SIGKILL, so a
// killed build never leaves the root locked.
func (r *Root) TryLockExclusive() (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(filepath.Join(r.Dir, "gc.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("lock gorae root: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lock gorae root: %w", err)
	}
	return func() { f.Close() }, true, nil // closing releases the lock
}

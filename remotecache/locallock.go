package remotecache

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gorae/gorae/flock"
)

// localLockName is the file in a type=local directory whose flock
// serializes the read-merge-write of index.json by concurrent exports
// (of one process or many).
const localLockName = ".gorae-cache.lock"

// localLockWait bounds the wait for the lock. An export holds it only
// while it writes config, manifest and index.json (its blobs are in
// already), and the kernel drops it when a holder dies, so a long wait
// means a hung process.
var localLockWait = 2 * time.Minute

// lockLayout takes the exclusive flock of dir; the returned function
// releases it. flock locks open file descriptions, so it also excludes
// other goroutines of this process.
func lockLayout(dir string) (func(), error) {
	path := filepath.Join(dir, localLockName)
	ctx, cancel := context.WithTimeout(context.Background(), localLockWait)
	defer cancel()
	unlock, err := flock.Lock(ctx, path, 0o644, true, flock.Wait{Min: time.Millisecond, Max: 50 * time.Millisecond})
	switch {
	case err == nil:
		return unlock, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s has been locked by another export for %v; if no gorae is exporting to %s, a hung process holds it: end it and export again", path, localLockWait, dir)
	}
	return nil, fmt.Errorf("lock the local cache %s: %w", dir, err)
}

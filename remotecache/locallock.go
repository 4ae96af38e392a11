package remotecache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
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
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the cache lock: %w", err)
	}
	deadline := time.Now().Add(localLockWait)
	delay := time.Millisecond
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%s has been locked by another export for %v; if no gorae is exporting to %s, a hung process holds it: end it and export again", path, localLockWait, dir)
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}

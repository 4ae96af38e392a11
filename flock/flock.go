package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Wait says how Lock polls a held lock.
type Wait struct {
	// Min is the first pause between two tries, doubled after each up
	// to Max (Max 0 = Min: a fixed pause).
	Min, Max time.Duration
	// OnWait, if not nil, is called once, before the first pause.
	OnWait func()
}

// Lock opens path (creating it with perm) and takes its lock, exclusive
// or shared, trying again after each pause of w while another holder
// has it. unlock releases it by closing the file. When ctx ends first
// the error is context.Cause(ctx); a failure to open path is the open's
// error, naming path, and any other the flock's, naming path too.
func Lock(ctx context.Context, path string, perm os.FileMode, exclusive bool, w Wait) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		return nil, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	pause, most := w.Min, max(w.Max, w.Min)
	for waited := false; ; waited = true {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		if !waited && w.OnWait != nil {
			w.OnWait()
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, context.Cause(ctx)
		case <-t.C:
		}
		pause = min(2*pause, most)
	}
}

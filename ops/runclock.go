package ops

import (
	"context"
	"time"
)

// runClock waits, before a RUN starts, until Env.NotBefore, and notes the
// start as Env.LastRun: --verify-reproducible's second build runs every
// RUN at least a second after the first build's last one, so that a
// command that writes the time (RUN date > /f) shows as a difference.
func (e *Env) runClock(ctx context.Context) error {
	if d := time.Until(e.NotBefore); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	now := time.Now().UnixNano()
	for {
		last := e.lastRun.Load()
		if last >= now || e.lastRun.CompareAndSwap(last, now) {
			return nil
		}
	}
}

// LastRun is when the build's last RUN started (zero when none ran).
func (e *Env) LastRun() time.Time {
	if n := e.lastRun.Load(); n > 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

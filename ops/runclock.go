package ops

import (
	"context"
	"time"
)

// runClock waits, before a RUN starts, until Env.NotBefore:
// --verify-reproducible's second build starts every RUN in a later
// wall-clock second than any RUN of the first build ran in, so that a
// command that writes the time (RUN date > /f) shows as a difference.
// The end of every RUN is noted (runEnded) for LastRun.
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
	return nil
}

// runEnded notes that a RUN's processes have all exited.
func (e *Env) runEnded() {
	now := time.Now().UnixNano()
	for {
		last := e.lastRun.Load()
		if last >= now || e.lastRun.CompareAndSwap(last, now) {
			return
		}
	}
}

// LastRun is when the build's last RUN ended (zero when none ran).
func (e *Env) LastRun() time.Time {
	if n := e.lastRun.Load(); n > 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

package solver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
)

// claimCache is a memCache that is also a Claimer: one holder per key,
// others wait for its release. It logs claims, saves and releases in
// order, by key.
type claimCache struct {
	memCache
	claimErr error // returned by every Claim when set

	cmu  sync.Mutex
	held map[Key]chan struct{} // closed on release
	log  []logEntry
}

type logEntry struct {
	what string // "claim", "save", "release"
	key  Key
}

func (c *claimCache) note(what string, k Key) {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	c.log = append(c.log, logEntry{what, k})
}

func (c *claimCache) Claim(ctx context.Context, k Key, onWait func()) (func(), error) {
	if c.claimErr != nil {
		return nil, c.claimErr
	}
	waited := false
	for {
		c.cmu.Lock()
		if c.held == nil {
			c.held = map[Key]chan struct{}{}
		}
		ch, busy := c.held[k]
		if !busy {
			ch = make(chan struct{})
			c.held[k] = ch
			c.log = append(c.log, logEntry{"claim", k})
			c.cmu.Unlock()
			return sync.OnceFunc(func() {
				c.cmu.Lock()
				delete(c.held, k)
				c.log = append(c.log, logEntry{"release", k})
				c.cmu.Unlock()
				close(ch)
			}), nil
		}
		c.cmu.Unlock()
		if !waited {
			onWait()
			waited = true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

func (c *claimCache) Save(ctx context.Context, k Key, r string) error {
	c.note("save", k)
	return c.memCache.Save(ctx, k, r)
}

// heldKeys is how many claims are not released.
func (c *claimCache) heldKeys() int {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return len(c.held)
}

// gated returns a step op whose Exec signals started and then blocks
// until gate closes, failing with fail if set.
func gated(started, gate chan struct{}, fail error) *op {
	return &op{name: "run", exec: func(ctx context.Context, in []string) (string, error) {
		close(started)
		select {
		case <-gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if fail != nil {
			return "", fail
		}
		return "run(" + strings.Join(in, ",") + ")", nil
	}}
}

// solveAsync runs Solve in a goroutine; the result arrives on the channel.
type solved struct {
	res []string
	err error
}

func solveAsync(ctx context.Context, root *Vertex[string], c Cache[string], rec *recorder) chan solved {
	ch := make(chan solved, 1)
	go func() {
		res, err := Solve(ctx, []*Vertex[string]{root}, c, Options{Jobs: 1, Events: rec.add})
		ch <- solved{res, err}
	}()
	return ch
}

// TestClaimSharesWork: two solves on one cache+claimer miss the same key
// at once; one executes it, the other waits, then loads its result.
func TestClaimSharesWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &claimCache{}
		startedA, gate := make(chan struct{}), make(chan struct{})
		runA := gated(startedA, gate, nil)
		runB := &op{name: "run"} // same key; must never run
		srcA, srcB := &op{name: "src"}, &op{name: "src"}
		recA, recB := &recorder{}, &recorder{}

		doneA := solveAsync(t.Context(), vtx(runA, vtx(srcA)), c, recA)
		<-startedA
		doneB := solveAsync(t.Context(), vtx(runB, vtx(srcB)), c, recB)
		synctest.Wait() // B is blocked in Claim behind A
		if s := recB.statuses("run"); !slices.Equal(s, []Status{Waiting}) {
			t.Fatalf("events of B's run while A executes: %v, want [waiting]", s)
		}
		close(gate)
		a, b := <-doneA, <-doneB
		if a.err != nil || b.err != nil {
			t.Fatalf("errors: %v, %v", a.err, b.err)
		}
		if a.res[0] != "run(src())" || b.res[0] != "run(src())" {
			t.Errorf("results %q and %q, want run(src()) twice", a.res, b.res)
		}
		if n := runA.runs.Load() + runB.runs.Load(); n != 1 {
			t.Errorf("run executed %d times, want once", n)
		}
		if s := recA.statuses("run"); !slices.Equal(s, []Status{Started, Done}) {
			t.Errorf("events of A's run: %v", s)
		}
		if s := recB.statuses("run"); !slices.Equal(s, []Status{Waiting, Cached}) {
			t.Errorf("events of B's run: %v, want [waiting cached]", s)
		}
		var runKey Key
		for _, e := range recA.events {
			if e.Vertex == "run" {
				runKey = e.Key
			}
		}
		// A claims, saves, then releases; B claims after that and
		// releases at once on its hit. The source is saved but never
		// claimed.
		var runLog []string
		for _, e := range c.log {
			switch {
			case e.key == runKey:
				runLog = append(runLog, e.what)
			case e.what == "claim":
				t.Errorf("a key other than the step's was claimed (the source's?)")
			}
		}
		if want := []string{"claim", "save", "release", "claim", "release"}; !slices.Equal(runLog, want) {
			t.Errorf("claim log of run: %v, want %v", runLog, want)
		}
		if c.heldKeys() != 0 {
			t.Error("a claim was not released")
		}
	})
}

// TestClaimHolderFailsWaiterExecutes: when the holder fails it releases
// its claim, and the waiter, finding nothing saved, executes the step.
func TestClaimHolderFailsWaiterExecutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &claimCache{}
		startedA, gate := make(chan struct{}), make(chan struct{})
		boom := errors.New("boom")
		runA := gated(startedA, gate, boom)
		runB := &op{name: "run"}
		recA, recB := &recorder{}, &recorder{}
		doneA := solveAsync(t.Context(), vtx(runA, vtx(&op{name: "src"})), c, recA)
		<-startedA
		doneB := solveAsync(t.Context(), vtx(runB, vtx(&op{name: "src"})), c, recB)
		synctest.Wait()
		close(gate)
		a, b := <-doneA, <-doneB
		if !errors.Is(a.err, boom) {
			t.Errorf("A: %v, want boom", a.err)
		}
		if b.err != nil || b.res[0] != "run(src())" || runB.runs.Load() != 1 {
			t.Errorf("B: %q, %v, %d runs; want it to execute the step itself", b.res, b.err, runB.runs.Load())
		}
		if s := recB.statuses("run"); !slices.Equal(s, []Status{Waiting, Started, Done}) {
			t.Errorf("events of B's run: %v, want [waiting started done]", s)
		}
		if c.heldKeys() != 0 {
			t.Error("a claim was not released")
		}
	})
}

// TestClaimWaitCancelled: a solve waiting for a claim stops as soon as
// its context is cancelled, with the cancellation's cause, and the
// holder goes on.
func TestClaimWaitCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &claimCache{}
		startedA, gate := make(chan struct{}), make(chan struct{})
		runA, runB := gated(startedA, gate, nil), &op{name: "run"}
		doneA := solveAsync(t.Context(), vtx(runA, vtx(&op{name: "src"})), c, &recorder{})
		<-startedA
		ctxB, cancelB := context.WithCancelCause(t.Context())
		interrupted := errors.New("interrupted")
		doneB := solveAsync(ctxB, vtx(runB, vtx(&op{name: "src"})), c, &recorder{})
		synctest.Wait()
		cancelB(interrupted)
		if b := <-doneB; !errors.Is(b.err, interrupted) || runB.runs.Load() != 0 {
			t.Errorf("B: %v, %d runs; want the cause and no run", b.err, runB.runs.Load())
		}
		close(gate)
		if a := <-doneA; a.err != nil || a.res[0] != "run(src())" {
			t.Errorf("A: %q, %v", a.res, a.err)
		}
		if c.heldKeys() != 0 {
			t.Error("a claim was not released")
		}
	})
}

// TestClaimError: a Claimer's own failure fails the step with its name.
func TestClaimError(t *testing.T) {
	c := &claimCache{claimErr: errors.New("no space left on device")}
	run := &op{name: "run"}
	_, err := Solve(t.Context(), []*Vertex[string]{vtx(run, vtx(&op{name: "src"}))}, c, Options{})
	var ve *VertexError
	if !errors.As(err, &ve) || ve.Vertex != "run" || !strings.HasPrefix(err.Error(), "run: claim sha256:") ||
		!strings.HasSuffix(err.Error(), ": no space left on device") {
		t.Errorf("error %q, want run: claim <key>: no space left on device", err)
	}
	if run.runs.Load() != 0 {
		t.Error("the step ran without its claim")
	}
	if Waiting.String() != "waiting" {
		t.Errorf("Waiting.String() = %q", Waiting)
	}
}

package solver

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sync/semaphore"
)

// TestSharedSlots: solves sharing Slots (gorae bake's -j) together run
// no more Execs at once than the slots allow, though each alone would
// run all its leaves at once.
func TestSharedSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var running, peak atomic.Int32
		leaf := func(name string) *Vertex[string] {
			return vtx(&op{name: name, exec: func(context.Context, []string) (string, error) {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(time.Second)
				running.Add(-1)
				return name, nil
			}})
		}
		slots := semaphore.NewWeighted(2)
		var wg sync.WaitGroup
		for _, target := range []string{"x", "y", "z"} {
			wg.Go(func() {
				root := vtx(&op{name: target}, leaf(target+"a"), leaf(target+"b"), leaf(target+"c"))
				if _, err := Solve(t.Context(), []*Vertex[string]{root}, nil, Options{Jobs: 16, Slots: slots}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if p := peak.Load(); p != 2 {
			t.Errorf("peak %d Execs over three solves sharing 2 slots, want 2", p)
		}
	})
}

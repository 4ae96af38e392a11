package bake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// Status is what became of a target.
type Status int

const (
	NotStarted Status = iota // a dependency failed, or the bake stopped first
	Built                    // at least one step executed
	Cached                   // every step came from a cache
	Failed
	Canceled // stopped by another target's failure (without --keep-going) or Ctrl-C
)

func (s Status) String() string {
	switch s {
	case Built:
		return "built"
	case Cached:
		return "cached"
	case Failed:
		return "failed"
	case Canceled:
		return "canceled"
	}
	return "not started"
}

// Outcome is one target's line of the end table.
type Outcome struct {
	Target string
	Status Status
	Result Result
	Err    error
	Time   time.Duration // from its start; 0 when not started
}

// Options tune a Run.
type Options struct {
	// KeepGoing builds every target it can after a failure; without
	// it, the first failure cancels the targets building and starts no
	// other.
	KeepGoing bool
	// MaxParallel bounds the targets building at once (Kubernetes Jobs:
	// --max-jobs); 0 = no bound (local steps are bounded by -j).
	MaxParallel int
}

// Report is the result of a Run.
type Report struct {
	Outcomes []Outcome // in the graph's order
	// Published says every target that pushes (Pushes) was published.
	Published bool
	// PublishErr is the first publishing failure; some targets may have
	// been published before it.
	PublishErr error
	// PushSkipped says targets push but nothing was published: a
	// target did not build.
	PushSkipped bool
}

// Failed reports whether any target failed or was not built, or
// publishing failed.
func (r *Report) Failed() bool {
	for _, o := range r.Outcomes {
		if o.Status != Built && o.Status != Cached {
			return true
		}
	}
	return r.PublishErr != nil
}

// Run builds every target of g with b, each as soon as its dependencies
// are built, and publishes those that push (Pushes) at the end when
// every target succeeded. ctx ending cancels what is building.
func Run(ctx context.Context, g *Graph, b Builder, o Options) *Report {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	r := &Report{Outcomes: make([]Outcome, len(g.Targets))}
	done := make([]chan struct{}, len(g.Targets))
	for i := range done {
		done[i] = make(chan struct{})
	}
	var limit *semaphore.Weighted
	if o.MaxParallel > 0 {
		limit = semaphore.NewWeighted(int64(o.MaxParallel))
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, t := range g.Targets {
		wg.Go(func() {
			defer close(done[i])
			out := &r.Outcomes[i]
			out.Target = t.Name
			var deps []Dep
			for _, e := range g.deps[t.Name] {
				j := g.index[e.dep]
				<-done[j]
				d := r.Outcomes[j]
				if d.Status != Built && d.Status != Cached {
					out.Err = fmt.Errorf("not started: %s did not build", e.dep)
					return
				}
				deps = append(deps, Dep{Name: e.ctx, Target: e.dep, Result: d.Result})
			}
			if limit != nil {
				if err := limit.Acquire(ctx, 1); err != nil {
					return
				}
				defer limit.Release(1)
			}
			if ctx.Err() != nil {
				return // stopped while waiting: not started
			}
			start := time.Now()
			res, err := b.Build(ctx, t, deps)
			out.Time = time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				out.Result, out.Status = res, Built
				if res.Cached {
					out.Status = Cached
				}
			case ctx.Err() != nil && errors.Is(err, context.Canceled):
				out.Status, out.Err = Canceled, err
			default:
				out.Status, out.Err = Failed, err
				if !o.KeepGoing {
					stop()
				}
			}
		})
	}
	wg.Wait()
	if !slices.ContainsFunc(g.Targets, Pushes) {
		return r
	}
	if r.Failed() || ctx.Err() != nil {
		r.PushSkipped = true
		return r
	}
	r.PublishErr = publish(ctx, g, b, r)
	r.Published = r.PublishErr == nil
	return r
}

// publish publishes every target that pushes, four at a time.
func publish(ctx context.Context, g *Graph, b Builder, r *Report) error {
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(4)
	for i, t := range g.Targets {
		if !Pushes(t) {
			continue
		}
		eg.Go(func() error {
			if err := b.Publish(ctx, t, r.Outcomes[i].Result); err != nil {
				return fmt.Errorf("push %s: %w", t.Name, err)
			}
			return nil
		})
	}
	return eg.Wait()
}

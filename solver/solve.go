package solver

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// Solve computes the results of roots, in order; see the package
// documentation for the algorithm. A nil Cache disables caching.
func Solve[R any](ctx context.Context, roots []*Vertex[R], c Cache[R], o Options) ([]R, error) {
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	order, byVertex, err := collect(roots)
	if err != nil {
		return nil, err
	}
	if err := computeKeys(ctx, order); err != nil {
		// The vertex whose key failed (a download, a git ref) shows as a
		// failed step, as one whose Exec failed.
		var ve *VertexError
		if o.Events != nil && errors.As(err, &ve) && ctx.Err() == nil {
			now := time.Now()
			o.Events(Event{Vertex: ve.Vertex, Status: Started, Time: now})
			o.Events(Event{Vertex: ve.Vertex, Status: Failed, Err: ve.Err, Time: now})
		}
		return nil, err
	}
	if o.Keys != nil {
		keys := make([]Key, len(order))
		for i, n := range order {
			keys[i] = n.key
		}
		o.Keys(keys)
	}
	if o.Slots == nil {
		o.Slots = semaphore.NewWeighted(int64(o.Jobs))
	}
	s := &solve[R]{
		cache:  c,
		events: o.Events,
		slots:  o.Slots,
		cancel: cancel,
		jobs:   make(map[Key]*job[R]),
	}
	js := make([]*job[R], len(roots))
	for i, r := range roots {
		js[i] = s.start(ctx, byVertex[r])
	}
	out := make([]R, len(roots))
	for i, j := range js {
		<-j.done
		out[i] = j.res
	}
	s.wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// node is a vertex with its keys.
type node[R any] struct {
	v      *Vertex[R]
	inputs []*node[R]
	own    Key // from Op.CacheKey
	key    Key // ComputeKey(own, inputs' keys)
}

// collect returns the reachable vertices inputs-first, refusing nil
// vertices and ops and cycles.
func collect[R any](roots []*Vertex[R]) ([]*node[R], map[*Vertex[R]]*node[R], error) {
	const (
		visiting = 1
		visited  = 2
	)
	state := make(map[*Vertex[R]]int)
	nodes := make(map[*Vertex[R]]*node[R])
	var order []*node[R]
	var visit func(v *Vertex[R], parent string) error
	visit = func(v *Vertex[R], parent string) error {
		if v == nil {
			return fmt.Errorf("solve: nil input vertex under %q", parent)
		}
		switch state[v] {
		case visiting:
			return fmt.Errorf("solve: the build graph has a cycle through %q", v.Name)
		case visited:
			return nil
		}
		if v.Op == nil {
			return fmt.Errorf("solve: vertex %q has no op", v.Name)
		}
		state[v] = visiting
		n := &node[R]{v: v}
		for _, in := range v.Inputs {
			if err := visit(in, v.Name); err != nil {
				return err
			}
			n.inputs = append(n.inputs, nodes[in])
		}
		state[v] = visited
		nodes[v] = n
		order = append(order, n)
		return nil
	}
	for _, r := range roots {
		if err := visit(r, "(roots)"); err != nil {
			return nil, nil, err
		}
	}
	return order, nodes, nil
}

// computeKeys runs every CacheKey concurrently, then combines the keys
// inputs-first (order is topological).
func computeKeys[R any](ctx context.Context, order []*node[R]) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range order {
		g.Go(func() error {
			k, err := n.v.Op.CacheKey(gctx)
			if err != nil {
				return &VertexError{Vertex: n.v.Name, Err: err}
			}
			n.own = k
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, n := range order {
		ins := make([]Key, len(n.inputs))
		for i, in := range n.inputs {
			ins[i] = in.key
		}
		n.key = ComputeKey(n.own, ins)
	}
	return nil
}

// solve is the state of the execution phase.
type solve[R any] struct {
	cache  Cache[R]
	events func(Event)
	slots  *semaphore.Weighted
	cancel context.CancelCauseFunc

	emu sync.Mutex // serializes events

	mu   sync.Mutex
	jobs map[Key]*job[R] // one per distinct key
	wg   sync.WaitGroup  // every job goroutine
}

// job is the single resolution of one key; done closes when res/err are set.
type job[R any] struct {
	done chan struct{}
	res  R
	err  error
}

// start returns the job for n's key, starting it if it is the first.
func (s *solve[R]) start(ctx context.Context, n *node[R]) *job[R] {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.jobs[n.key]; ok {
		return j
	}
	j := &job[R]{done: make(chan struct{})}
	s.jobs[n.key] = j
	s.wg.Go(func() {
		defer close(j.done)
		j.res, j.err = s.resolve(ctx, n)
		if j.err != nil {
			s.cancel(j.err) // only the first cause sticks
		}
	})
	return j
}

// resolve produces n's result: from the cache, or by resolving its inputs
// and executing it.
func (s *solve[R]) resolve(ctx context.Context, n *node[R]) (R, error) {
	var zero R
	if s.cache != nil && !n.v.NoCache {
		r, ok, err := s.cache.Load(ctx, n.key)
		if err != nil {
			return zero, &VertexError{Vertex: n.v.Name, Err: fmt.Errorf("load cache %s: %w", n.key, err)}
		}
		if ok {
			s.emit(Event{Vertex: n.v.Name, Status: Cached, Key: n.key})
			return r, nil
		}
	}
	inputs := make([]R, len(n.inputs))
	js := make([]*job[R], len(n.inputs))
	for i, in := range n.inputs {
		js[i] = s.start(ctx, in)
	}
	failed := false
	for i, j := range js {
		<-j.done
		inputs[i] = j.res
		failed = failed || j.err != nil
	}
	if failed {
		// The failing input cancelled ctx with its error before its job
		// finished, so the cause is the first failure of the whole solve.
		return zero, context.Cause(ctx)
	}
	release, r, hit, err := s.claim(ctx, n)
	if err != nil || hit {
		return r, err
	}
	defer release() // after Save: a waiter's second Load must find the result
	if err := s.slots.Acquire(ctx, 1); err != nil {
		return zero, context.Cause(ctx)
	}
	s.emit(Event{Vertex: n.v.Name, Status: Started, Key: n.key})
	t0 := time.Now()
	r, err = n.v.Op.Exec(ctx, inputs)
	s.slots.Release(1)
	if err != nil {
		s.emit(Event{Vertex: n.v.Name, Status: Failed, Key: n.key, Duration: time.Since(t0), Err: err})
		return zero, &VertexError{Vertex: n.v.Name, Err: err}
	}
	s.emit(Event{Vertex: n.v.Name, Status: Done, Key: n.key, Duration: time.Since(t0)})
	if s.cache != nil {
		if err := s.cache.Save(ctx, n.key, r); err != nil {
			return zero, &VertexError{Vertex: n.v.Name, Err: fmt.Errorf("save cache %s: %w", n.key, err)}
		}
	}
	return r, nil
}

// claim takes n's key from the cache's Claimer, if it has one and n has
// inputs, and looks the key up again: another solve may have saved it
// while this one resolved the inputs or waited. On a hit the claim is
// already released; otherwise the caller executes n and then calls
// release. The claim is taken before an Exec slot, so a solve waiting
// for another's step keeps its slots for its own independent steps.
func (s *solve[R]) claim(ctx context.Context, n *node[R]) (release func(), r R, hit bool, err error) {
	cl, ok := s.cache.(Claimer)
	if !ok || len(n.inputs) == 0 || n.v.NoCache {
		return func() {}, r, false, nil
	}
	release, err = cl.Claim(ctx, n.key, func() {
		s.emit(Event{Vertex: n.v.Name, Status: Waiting, Key: n.key})
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, r, false, context.Cause(ctx)
		}
		return nil, r, false, &VertexError{Vertex: n.v.Name, Err: fmt.Errorf("claim %s: %w", n.key, err)}
	}
	got, hit, err := s.cache.Load(ctx, n.key)
	switch {
	case err != nil:
		release()
		return nil, r, false, &VertexError{Vertex: n.v.Name, Err: fmt.Errorf("load cache %s: %w", n.key, err)}
	case hit:
		release()
		s.emit(Event{Vertex: n.v.Name, Status: Cached, Key: n.key})
		return nil, got, true, nil
	}
	return release, r, false, nil
}

func (s *solve[R]) emit(e Event) {
	if s.events == nil {
		return
	}
	e.Time = time.Now()
	s.emu.Lock()
	defer s.emu.Unlock()
	s.events(e)
}

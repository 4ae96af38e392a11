package solver

import (
	"context"
	"fmt"
	"time"
)

// Op is one build step. Its lifecycle within a Solve: CacheKey is called
// exactly once, before anything executes, and must describe everything that
// determines the result apart from the inputs (the inputs' keys are mixed
// in by the solver). Exec is called at most once, only if no cached result
// exists for the vertex's key, with the results of the inputs in
// Vertex.Inputs order. Both must return promptly when ctx is done.
type Op[R any] interface {
	CacheKey(ctx context.Context) (Key, error)
	Exec(ctx context.Context, inputs []R) (R, error)
}

// Vertex is one node of the DAG. Name is for events and errors only; it
// does not enter the key.
type Vertex[R any] struct {
	Name   string
	Op     Op[R]
	Inputs []*Vertex[R]
}

// Cache stores results by key. Load reports a miss as (zero, false, nil).
// Both may be called concurrently.
type Cache[R any] interface {
	Load(ctx context.Context, k Key) (R, bool, error)
	Save(ctx context.Context, k Key, r R) error
}

// Status is what happened to a vertex.
type Status int

const (
	Started Status = iota // Exec began
	Cached                // the result came from the Cache; nothing below ran
	Done                  // Exec succeeded
	Failed                // Exec returned an error (possibly a cancellation)
)

func (s Status) String() string {
	switch s {
	case Started:
		return "started"
	case Cached:
		return "cached"
	case Done:
		return "done"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Event reports progress on one vertex.
type Event struct {
	Vertex   string
	Status   Status
	Key      Key
	Duration time.Duration // of Exec, for Done and Failed
	Err      error         // for Failed
	Time     time.Time
}

// Options tune a Solve.
type Options struct {
	// Jobs is the maximum number of concurrent Exec calls; 0 means
	// runtime.NumCPU().
	Jobs int
	// Events, if not nil, receives progress. Calls are serialized.
	Events func(Event)
}

// VertexError is an error from one vertex's CacheKey, Cache access or
// Exec. errors.Is and errors.As see through it to the op's error.
type VertexError struct {
	Vertex string
	Err    error
}

func (e *VertexError) Error() string { return e.Vertex + ": " + e.Err.Error() }
func (e *VertexError) Unwrap() error { return e.Err }

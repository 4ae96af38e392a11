package solver

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/semaphore"
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
// does not enter the key. NoCache skips the cache lookup: the vertex
// executes even when a result for its key exists, and its result is still
// saved (--no-cache for one vertex). It does not spread to the vertex's
// dependents: a caller that wants them re-run marks them too.
type Vertex[R any] struct {
	Name    string
	Op      Op[R]
	Inputs  []*Vertex[R]
	NoCache bool
}

// Cache stores results by key. Load reports a miss as (zero, false, nil).
// Both may be called concurrently.
type Cache[R any] interface {
	Load(ctx context.Context, k Key) (R, bool, error)
	Save(ctx context.Context, k Key, r R) error
}

// Claimer is an optional interface of a Cache shared by several solves,
// possibly in other processes: it lets one of them execute a key while
// the others wait and then load its result, instead of executing it too.
//
// Solve claims a vertex's key after a cache miss, once its inputs are
// resolved and before it waits for an Exec slot; then it asks the Cache
// again (the holder before it may have saved the result meanwhile), and
// executes and saves only on a second miss. It calls release after Save,
// or as soon as it gives up (a hit, a failure, a cancellation). Vertices
// without inputs (sources) and NoCache vertices are never claimed: see
// the package documentation.
//
// Claim blocks while another holder has k, calling onWait once before it
// starts to wait, and returns context.Cause(ctx) when ctx ends first.
// It may be called concurrently; release is called exactly once.
type Claimer interface {
	Claim(ctx context.Context, k Key, onWait func()) (release func(), err error)
}

// Status is what happened to a vertex.
type Status int

const (
	Started Status = iota // Exec began
	Cached                // the result came from the Cache; nothing below ran
	Done                  // Exec succeeded
	Failed                // Exec returned an error (possibly a cancellation)
	Waiting               // another holder of the Claimer's claim is executing the same key
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
	case Waiting:
		return "waiting"
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
	// Slots, if not nil, replaces Jobs: the Exec slots of several solves
	// in one process (gorae bake -j bounds the steps of all its targets).
	Slots *semaphore.Weighted
	// Events, if not nil, receives progress. Calls are serialized.
	Events func(Event)
	// Keys, if not nil, receives the key of every vertex, inputs first,
	// once they are computed and before anything executes (a --cache-to
	// of every step needs the keys below a cache hit, which the hit never
	// resolves).
	Keys func([]Key)
}

// VertexError is an error from one vertex's CacheKey, Cache access or
// Exec. errors.Is and errors.As see through it to the op's error.
type VertexError struct {
	Vertex string
	Err    error
}

func (e *VertexError) Error() string { return e.Vertex + ": " + e.Err.Error() }
func (e *VertexError) Unwrap() error { return e.Err }

// Package solver runs a build DAG concurrently with content-addressed
// caching. It is generic over the result type R (in gorae, a snapshot plus
// the layers that made it) and knows nothing about images or filesystems.
//
// solver is level 0: it imports only the standard library and
// golang.org/x/sync, never another gorae package.
//
// # Algorithm
//
// Solve works in two phases.
//
// Keys. The vertices reachable from the roots are collected depth-first
// (a cycle is an error) and every Op.CacheKey runs once, all of them
// concurrently and outside the Exec slots: a CacheKey reads definitions and
// external content (a context file's hash, a pinned digest) but never
// executes anything, so all keys are known before anything runs. Then, inputs
// first, each vertex gets
//
//	Key(v) = sha256("gorae/v1" ‖ own ‖ uvarint(n) ‖ Key(in₁) … Key(inₙ))
//
// (ComputeKey): fixed-width binary, so no two different (own, inputs) can
// encode alike, and any change below a vertex changes its key.
//
// Execution. Results are pulled lazily from the roots. Resolving a vertex
// first asks the Cache for its key; on a hit the result is used and nothing
// below that vertex is loaded or executed. On a miss its inputs are
// resolved concurrently, then it waits for one of Options.Jobs Exec slots,
// runs Op.Exec with the input results in Vertex.Inputs order, and saves the
// result. A slot is held only during Exec, never while waiting for inputs,
// so Jobs=1 cannot deadlock. Resolution is memoized by key: a vertex reached
// along many paths (a diamond), or two vertices with equal keys, run once.
//
// Failure. The first error (from CacheKey, Cache or Exec) cancels the
// context every other call runs under (context.WithCancelCause), and Solve
// returns that first error, not the cancellations it caused. Solve returns
// only after every Exec it started has returned.
//
// # Sharing work between solves
//
// Memoization by key covers one Solve. Solves that share a Cache (other
// builds, other processes) can share work too when the Cache implements
// Claimer: after a miss and once the inputs are resolved, the vertex's
// key is claimed, the Cache asked again, and only on a second miss is the
// vertex executed and saved, then the claim released. So of several
// solves missing one key at once, one executes it and the others wait
// (a Waiting event) and then load its result (Cached). The claim is taken
// before the Exec slot, so a solve waiting for another's step still runs
// its own independent steps.
//
// Claims cannot deadlock: a solve holds a claim only for one vertex whose
// inputs are already resolved, from just before its Exec slot until its
// Save, and Exec never claims anything; so no holder of a claim ever waits
// for another claim, and claims never nest. (A holder may wait for an Exec
// slot, but slots are held only by running Execs, which wait for nothing.)
// A failed or cancelled holder releases its claim and a waiter, finding no
// result, executes the vertex itself.
//
// Vertices without inputs (sources) are not claimed: their Exec only
// opens what CacheKey has already read or pinned (the key must name a
// source's content), so there is no work to share, and a source's result
// is often not something a Cache keeps (an open directory). Nor are
// NoCache vertices, which execute whatever the Cache holds.
//
// # Events
//
// Events report Started, then Done or Failed, around each Exec, Cached
// for a cache hit, and Waiting when a claim has to wait for another
// solve (then Cached, or Started if the other solve saved no result).
// They come from many goroutines; Solve serializes the calls, so the
// callback needs no locking of its own.
package solver

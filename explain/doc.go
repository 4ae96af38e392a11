// Package explain answers "why did this step rebuild?": for every build
// target it keeps a record of what each step's cache key was made of (the
// op's fields, its inputs' keys, per-file digests of the context files it
// hashed), and for `gorae build --explain` says, for each step that
// misses the cache, which component changed since the last successful
// build of the same target.
//
// Records live under $GORAE_ROOT/explain/<target>/; gc decides when they
// go.
//
// explain is level 3: it imports ops, graph and solver, and must never
// import root, builder, gc or cmd.
package explain

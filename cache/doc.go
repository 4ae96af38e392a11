// Package cache keeps the persistent build cache: one record per cache key
// under $GORAE_ROOT/cache, mapping the key to the result of the step (its
// layers), so a rebuild with unchanged inputs executes nothing.
//
// cache is level 1: it imports solver (for keys) and the standard library,
// never ops, builder or cmd. Records are JSON values of the solver's result
// type; a record whose blobs are gone is treated as a miss.
package cache

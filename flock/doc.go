// Package flock takes whole-file advisory locks (flock(2)) by polling,
// so that a wait ends when its context does: the root's gc.lock and step
// claims, the image store's lock, snapshot chains and local cache
// directories all lock this way. flock locks belong to the open file,
// so a lock also excludes other goroutines of the same process, and the
// kernel drops it when its holder dies.
//
// flock is level 0: it imports only the standard library and x/sys,
// never another gorae package.
package flock

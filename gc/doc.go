// Package gc decides what a gorae root keeps: Prune removes what nothing
// references (and, by its options, old or least recently used cache
// data down to a size), DiskUsage reports what each kind of data takes
// and what prune would free, and Auto trims the build cache to its
// budget (GORAE_GC_BUDGET, else 10% of the filesystem) after a build.
// A named image's blobs are never removed; cache records go with the
// blobs, unpacked chains and indexes only they reference.
//
// gc is level 4: it imports root, snapshot and progress, and must never
// import builder, container, images, remotecache or cmd.
package gc

// Package root opens a gorae root ($GORAE_ROOT): the content store, the
// local image store, unpacked snapshots, cache records and this process's
// temporary directory, and holds the root's locks: gc.lock, shared by
// everything that writes and then names blobs and exclusive for garbage
// collection, and one lock per cache key (Claim) so that concurrent
// builds run a step once.
//
// What the root's data is worth keeping is decided by gc; root only
// opens it and serializes access.
//
// root is level 3: it imports archive, content, store, snapshot, cache,
// ops and registry, and must never import gc, remotecache, images, container,
// builder or cmd.
package root

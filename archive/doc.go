// Package archive reads and writes layer tars: a deterministic tar writer,
// safe application of a layer onto a directory (whiteouts, opaque
// directories, no escape from the root), the FS abstraction over which
// COPY walks a file tree, and streaming compression.
//
// archive is level 0: it imports only the standard library and third-party
// compression packages, never another gorae package.
package archive

// Package longpath runs path-based system calls on absolute paths of any
// length. Linux refuses a path of PATH_MAX (4,096) bytes or more with
// ENAMETOOLONG, yet a tree may hold deeper names: each component is at
// most 255 bytes, their sum is unbounded. A snapshot's upper directory, a
// layer directory or an export destination can hold such names, so every
// walk over them goes through here.
//
// A short path is passed to the kernel as is (one length check is all it
// costs). A long one is opened a directory chunk at a time, each chunk
// relative to the descriptor of the one before (symlinks resolve as the
// kernel would resolve the whole path), and the call gets
// "/proc/self/fd/N/REST", which the kernel resolves through the open
// directory. Errors name the caller's path, never the /proc one.
//
// longpath is level 0: it imports only the standard library and
// golang.org/x/sys, never another gorae package.
package longpath

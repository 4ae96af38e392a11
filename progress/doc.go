// Package progress renders build events for people and tools: a live
// terminal display (tty: finished steps scroll up as permanent lines under
// a small block redrawn in place with running steps, their last output
// line and transfer bars), plain text as BuildKit prints it (every step a
// block of lines numbered "#N": its header, its output timed from its
// start, DONE, CACHED, ERROR or CANCELED; parallel steps take turns, so
// one step's lines can be grepped out), JSON lines for CI, or nothing.
// Steps that are not solver vertices (loading the Dockerfile, a base
// image's metadata, the export) are reported through Step. MeteredReader
// shows a download or upload as a transfer; FormatSize, CompactSize and
// ShortDigest are how sizes and digests read in messages.
//
// progress is level 1: it imports solver (for events), the standard
// library and golang.org/x/sys/unix (terminal detection and size), never
// another gorae package.
package progress

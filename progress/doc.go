// Package progress renders build events for people and tools: a live
// terminal display (tty: finished steps scroll up as permanent lines under
// a small block redrawn in place with running steps, their last output
// line and transfer bars), plain lines (one per step, with its Dockerfile
// position, duration or CACHED, and a WAITING line while another build
// runs the same step), JSON lines for CI, or nothing. MeteredReader shows
// a download or upload as a transfer; FormatSize and ShortDigest are how
// sizes and digests read in messages.
//
// progress is level 1: it imports solver (for events), the standard
// library and golang.org/x/sys/unix (terminal detection and size), never
// another gorae package.
package progress

// Package progress renders build events for people and tools: plain lines
// (one per step, with its Dockerfile position, duration or CACHED), JSON
// lines for CI, or nothing.
//
// progress is level 1: it imports solver (for events) and the standard
// library only.
package progress

// Package imagediff finds why two images differ: the first differing
// field of their configs (as a JSON path), the first differing layer (with
// the history entry that made it), and the first differing file of that
// layer (and which of its fields differs). `gorae diff` and `gorae build
// --verify-reproducible` print it.
//
// imagediff is level 0: it imports no gorae package (go-containerregistry
// only) and must never import one.
package imagediff

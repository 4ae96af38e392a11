// Package build is the one place where gorae is wired together:
// Build reads a Dockerfile and its context, converts it with frontend,
// solves the graph with solver over ops, assembles the image and hands it
// to the local store, the registry and the requested outputs.
//
// build is level 3: it may import every package but cmd.
package build

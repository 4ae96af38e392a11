// Package graph is gorae's build IR: a Dockerfile becomes a DAG of Nodes,
// each holding one Op as plain data with a canonical digest.
//
// Nodes describe what to build, never how: execution lives in package ops,
// scheduling in package solver.
//
// graph is level 0: it imports only the standard library and
// go-containerregistry's v1 types, and must not import any other gorae
// package.
package graph

// Package ops executes build graph ops: it turns each graph.Node into a
// solver.Op whose result is a State (a filesystem as a chain of layers in
// the content store, or a directory for build contexts and downloads).
//
// ops is level 2: it wires the level-0 and level-1 packages (archive,
// content, snapshot, copier, store, registry, solver, graph, binfmt) and
// must not import root, builder or anything above it.
package ops

// Package frontend turns a Dockerfile into a build graph (package graph) and
// the target image's config, with the semantics of BuildKit's Dockerfile
// frontend 1.x: ARG scoping, platform args, stage references, ONBUILD,
// history strings and progress labels as `docker build` shows them.
//
// frontend is level 1: it imports only BuildKit's parser, instructions,
// shell and linter packages, moby/patternmatcher (for the CopyIgnoredFile
// check) and go-containerregistry's v1 types, and from gorae only graph
// and imageconfig (the config type), never ops, solver, snapshot or any
// package that touches the filesystem, the network or a registry: base
// images are pinned through the ImageResolver the caller passes in.
package frontend

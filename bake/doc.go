// Package bake schedules the targets of `gorae bake`: their dependencies
// (target: and service: contexts, a FROM naming another target's tag),
// cycles, -j, --keep-going, all-or-nothing publishing and the end table.
// Builders (a local one in cmd/gorae, Kubernetes Jobs in kubejob) build
// one target each.
//
// bake is level 2: it imports bakefile, frontend (FROM lines) and
// registry (name normalization only), never the builder or the root.
package bake

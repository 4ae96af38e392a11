// Package kubejob builds the targets of `gorae bake --kubernetes`: each
// target is one Kubernetes Job, created and watched through kubectl,
// whose pod runs `gorae build` in gorae's own image.
//
// Everything a Job needs travels through the registry, so any node can
// build any target: the build context is a content-addressed blob
// (uploaded once, skipped when the registry has it) that the pod fetches
// as a registry blob URL; each target reads and writes its registry
// cache (REPO:buildcache-TARGET unless the target names caches), so a
// rerun on an empty node finds its steps; a dependency's image reaches
// its dependents as --build-context NAME=docker-image://REF@DIGEST. A
// Job pushes only to a staging tag and returns its digest in its
// termination message (--metadata-file /dev/termination-log); Publish
// puts the manifest under the target's real tags once every target
// succeeded. Jobs of one target prefer the same node (rendezvous hashing
// of the target over the cluster's nodes), so node-local caches stay
// warm; the registry cache keeps results correct when they do not.
//
// kubejob is level 4: it imports bake, bakefile, copier, archive and
// registry, never the builder, the root or cmd/gorae.
package kubejob

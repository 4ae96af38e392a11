// Package remotecache shares the build cache between machines, as
// `--cache-to` and `--cache-from` ask: it parses their specs, imports the
// records of registry caches, local OCI layouts and images with inline
// records (manifests and configs only; blobs are fetched when a build
// needs their bytes), exports the records a build used (Used) as one
// OCI image manifest to a registry or a local layout, or inline in the
// built image's config, and carries RUN --mount=type=cache directories
// (cache-mounts=true) both ways. Exports to one ref or directory merge
// with whatever concurrent exports put there, so none loses its records
// (registryexport.go, locallock.go). docs/remote-cache.md describes the
// format.
//
// remotecache is level 3: it imports content, ops, graph, solver,
// archive, registry and progress, and must never import root, builder,
// gc or cmd.
package remotecache

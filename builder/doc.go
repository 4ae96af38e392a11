// Package builder runs one build: Build reads the Dockerfile and its
// .dockerignore, converts it with frontend (base images pinned through
// images.Resolver), turns the graph into solver vertices over ops,
// solves them against the root's cache records (and any --cache-from),
// assembles the image's config and manifest, and hands the image to the
// local store, the registry (--push) and every --output, then exports
// --cache-to and lets gc trim the root.
//
// Everything else has a package of its own: the root and its locks
// (root), prune, du and automatic GC (gc), the remote cache
// (remotecache), `gorae run` (container), pulling, pushing and loading
// images (images) and --explain's records (explain).
//
// builder is level 5: it may import every gorae package below it, and
// must never import container or cmd (nothing but cmd imports it).
package builder

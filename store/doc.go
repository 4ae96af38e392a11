// Package store is gorae's local image store: it maps image names to
// manifests whose blobs (manifest, config, layers) live in the content
// store, so a built image can be run, tagged, pushed or used by a later
// FROM without any registry.
//
// store is level 1: it may import content, registry, the standard library
// and go-containerregistry, never another gorae package.
//
// The names live in DIR/index.json, an OCI image-layout index whose
// entries carry the annotation org.opencontainers.image.ref.name with the
// full normalized name ("docker.io/library/busybox:latest"); a name
// appears at most once, a digest may appear under many names. An image
// exported without names gets one entry without the annotation, so it can
// still be found by digest.
//
// A multi-platform image is an entry whose media type is an OCI image
// index or a Docker manifest list: its index manifest and the child
// image manifests are blobs in content too. A pulled one may be partial,
// holding only the platforms that were pulled; a child whose manifest is
// not stored is absent (ImageFor says ErrNotFound, List and GC skip it).
// Image picks the child for this machine, ImageFor the one for a given
// platform, and a digest also finds a stored child.
//
// Readers read index.json without locking, because writers never modify
// it in place: every update takes an exclusive flock on DIR/lock, reads
// the current index, changes it and replaces the file by rename. Blobs
// are written before the update that names them. Removing a name never
// deletes blobs; garbage collection is separate.
package store

// Package images moves images into and out of the local store: it pins
// base images for a build (Resolver: the store first, the registry when
// missing or with --pull; a multi-platform image is stored as its index
// with the platforms pulled so far), pulls, pushes (mounting lazy layers
// from the registry cache that holds them), loads `docker save` and OCI
// layout tars, imports a root filesystem tar as a one-layer image, and
// makes an image (config and manifest) over layers already in the
// content store (FromLayers).
//
// images is level 4: it imports root, store, content, registry,
// exporter, frontend (for the resolver's types), imageconfig, ops, archive and
// progress, and
// must never import gc, container, builder or cmd.
package images

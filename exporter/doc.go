// Package exporter holds the sinks a built image goes to: an OCI image
// layout (tar file or directory), a `docker load` tarball, the image's final
// root filesystem as a directory or a tar file, and registries. Parse turns
// a --output value into one of them; the local image store's sink lives with
// the store and is reached through Image. A multi-platform result, an image
// index, goes to an IndexExporter: a layout holds the index, a filesystem
// export has one directory per platform, a push sends the platform
// manifests before the index, and a docker tarball refuses it.
//
// Every file or directory an exporter writes appears atomically: it is
// built beside its destination and renamed into place, and a failed or
// cancelled export leaves nothing at the destination. Layers are streamed,
// so memory stays bounded whatever their size.
//
// exporter is level 1: it imports only the standard library,
// go-containerregistry, klauspost/compress and the gorae packages archive and
// registry, never the store, the solver or anything above them.
package exporter

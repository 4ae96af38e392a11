// Package testutil starts what end-to-end tests need: the gorae binary,
// a real docker-registry on a free loopback port, and a busybox root
// filesystem made offline from Debian's busybox-static; for builds of
// another platform, the same root filesystem with busybox-static:arm64
// (downloaded once with apt-get into CacheDir) and a linux/amd64 +
// linux/arm64 base image index to push to a registry.
//
// Only tests import it.
package testutil

// Package testutil starts what end-to-end tests need: the gorae binary,
// a real docker-registry on a free loopback port, and a busybox root
// filesystem made offline from Debian's busybox-static.
//
// Only tests import it.
package testutil

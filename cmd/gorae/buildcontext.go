package main

import (
	"os"

	"github.com/gorae/gorae/builder"
)

// checkContextArg accepts what docker build accepts as CONTEXT: a
// directory, "-" (a tar on standard input), a git URL or the http(s) URL
// of a tarball.
func checkContextArg(ctxDir, file string) error {
	if builder.IsRemoteContext(ctxDir) {
		if ctxDir == builder.StdinContext && file == "-" {
			return usagef("cannot read both the build context and the Dockerfile (-f -) from standard input")
		}
		return nil
	}
	if fi, err := os.Stat(ctxDir); err != nil || !fi.IsDir() {
		return usagef("build context %q is not a directory, a git URL, an http(s) URL of a tarball or - (a tar on standard input)", ctxDir)
	}
	return nil
}

// checkBuildContexts accepts --build-context NAME=VALUE where VALUE is a
// directory, a git or tarball URL, docker-image://REF or
// oci-layout://DIR[:TAG|@sha256:DIGEST], as buildx does.
func checkBuildContexts(bc map[string]string) error {
	for name, v := range bc {
		if builder.IsNamedImageContext(v) || (builder.IsRemoteContext(v) && v != builder.StdinContext) {
			continue
		}
		if fi, err := os.Stat(v); err != nil || !fi.IsDir() {
			return usagef("--build-context %s=%s: not a directory, a git or tarball URL, docker-image://REF or oci-layout://DIR", name, v)
		}
	}
	return nil
}

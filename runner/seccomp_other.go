//go:build !amd64 && !arm64

package runner

// hostPlatform has no tables for this architecture, so a secure RUN fails
// instead of running unfiltered.
func hostPlatform() (platform, bool) { return platform{}, false }

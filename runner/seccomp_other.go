//go:build !amd64 && !arm64

package runner

// auditArch 0: no filter is built for this architecture, so a secure RUN
// fails instead of running unfiltered.
const auditArch = 0

const x32Abi = false

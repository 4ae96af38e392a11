package runner

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompFilter builds the filter for this machine's architecture and
// kernel, for a command holding Docker's default capabilities.
func seccompFilter() ([]unix.SockFilter, error) {
	p, ok := hostPlatform()
	if !ok {
		return nil, fmt.Errorf("no seccomp filter for this architecture: use --security=insecure")
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return nil, fmt.Errorf("read kernel version: %w", err)
	}
	return compile(p, profile(p, inDefault, kernelAtLeast(unix.ByteSliceToString(uts.Release[:]), 4, 8)))
}

// installSeccomp loads the filter on the calling (locked, about to exec)
// thread; no_new_privs must already be set.
func installSeccomp() error {
	f, err := seccompFilter()
	if err != nil {
		return err
	}
	return loadFilter(f)
}

// loadFilter installs f on the calling thread.
func loadFilter(f []unix.SockFilter) error {
	prog := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
		return fmt.Errorf("install seccomp filter: %w", err)
	}
	return nil
}

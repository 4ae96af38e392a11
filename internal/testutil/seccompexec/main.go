// Command seccompexec runs a command under one of gorae's seccomp
// profiles (runner.InstallProfile), as a container runtime would:
//
//	seccompexec PROFILE COMMAND [ARG...]
//	seccompexec --userns COMMAND [ARG...]
//
// With --userns it runs the command as root of a new user and mount
// namespace that maps ids 0–65535 to 200000–265535, as a Kubernetes pod
// with hostUsers: false runs its containers. Pod tests use it to
// reproduce a pod's restrictions on the host. It must run as root (or
// with no_new_privs set) to install a filter.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/runner"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: seccompexec PROFILE|--userns COMMAND [ARG...]")
		os.Exit(2)
	}
	if os.Args[1] == "--userns" {
		os.Exit(inUserNS(os.Args[2:]))
	}
	// The filter is the calling thread's; the exec below inherits it.
	runtime.LockOSThread()
	path, err := exec.LookPath(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "seccompexec:", err)
		os.Exit(127)
	}
	if err := runner.InstallProfile(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "seccompexec:", err)
		os.Exit(1)
	}
	err = unix.Exec(path, os.Args[2:], os.Environ())
	fmt.Fprintln(os.Stderr, "seccompexec:", err)
	os.Exit(126)
}

// inUserNS runs argv as root of a new user namespace and returns its exit
// code.
func inUserNS(argv []string) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		Credential:  &syscall.Credential{Uid: 0, Gid: 0},
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 200000, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 200000, Size: 65536}},
	}
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seccompexec:", err)
		return 1
	}
	return 0
}

// Package runner runs one RUN command in a fresh sandbox: new mount, PID,
// UTS and IPC namespaces (and a network namespace for --network=none),
// pivot_root into an already assembled root file system, a private /proc,
// /sys and /dev, Docker's default capability set, no_new_privs and a seccomp
// filter equivalent to Docker's default profile. The command is
// PID 1 of its PID namespace, so when it exits the kernel kills everything
// it left behind, and every mount lives in a mount namespace that dies with
// it: nothing stays running or mounted on the host.
//
// The sandbox init is the calling program itself, re-executed: its main must
// call Main first. Linux only, pure Go, no cgo.
//
// runner is level 1: it imports only the standard library and
// golang.org/x/sys/unix, and must not import any gorae package.
package runner

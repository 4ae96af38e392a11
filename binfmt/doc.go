// Package binfmt checks, before a RUN step of another architecture
// executes, that this machine can run that architecture's binaries inside
// the build sandbox, and otherwise says what to install or fix.
//
// The check runs a probe: a tiny static ELF program of the architecture
// that only calls exit(0), generated here (no embedded binaries), written
// to a temporary file and executed. The kernel runs it natively, through
// a binfmt_misc handler (qemu-user-static), or refuses it with "exec
// format error". A handler must have the F flag: without it the kernel
// opens the interpreter by its path when a program starts, and inside the
// sandbox, after pivot_root, that path does not exist. Each platform is
// probed once per process.
//
// binfmt is level 0: it imports the standard library and
// go-containerregistry's v1 types only, never another gorae package.
package binfmt

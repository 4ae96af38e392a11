// Command seccompprobe makes the system calls named on its command line
// with harmless arguments and prints "name result" for each, result being
// "ok" or the errno's name. The runner's seccomp tests run it inside the
// sandbox.
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	for _, name := range os.Args[1:] {
		call, ok := calls()[name]
		if !ok {
			fmt.Printf("%s unknown\n", name)
			continue
		}
		result := "ok"
		if errno := call(); errno != 0 {
			result = unix.ErrnoName(errno)
		}
		fmt.Printf("%s %s\n", name, result)
	}
}

func raw(nr uintptr, args ...uintptr) syscall.Errno {
	var a [6]uintptr
	copy(a[:], args)
	_, _, errno := syscall.RawSyscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	return errno
}

func ptr(s string) uintptr {
	b, _ := unix.BytePtrFromString(s)
	return uintptr(unsafe.Pointer(b))
}

// cloneFlags clones with flags, the child exiting at once: should the
// filter let the call through, nothing else runs in the copy.
func cloneFlags(flags uintptr) syscall.Errno {
	pid, _, errno := syscall.RawSyscall6(unix.SYS_CLONE, flags|uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	if pid == 0 {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	var ws unix.WaitStatus
	unix.Wait4(int(pid), &ws, 0, nil)
	return 0
}

func calls() map[string]func() syscall.Errno {
	return map[string]func() syscall.Errno{
		"mount":   func() syscall.Errno { return raw(unix.SYS_MOUNT, ptr("none"), ptr("/tmp"), ptr("tmpfs"), 0, 0) },
		"umount2": func() syscall.Errno { return raw(unix.SYS_UMOUNT2, ptr("/tmp"), 0) },
		"unshare": func() syscall.Errno { return raw(unix.SYS_UNSHARE, unix.CLONE_NEWNS) },
		"setns":   func() syscall.Errno { return raw(unix.SYS_SETNS, ^uintptr(0), 0) },
		"keyctl": func() syscall.Errno {
			return raw(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(unix.KEY_SPEC_PROCESS_KEYRING&0xffffffff), 1)
		},
		"add_key": func() syscall.Errno {
			return raw(unix.SYS_ADD_KEY, ptr("user"), ptr("gorae"), ptr("x"), 1, uintptr(unix.KEY_SPEC_PROCESS_KEYRING&0xffffffff))
		},
		// ESRCH, not EPERM, when the filter lets ptrace through.
		"ptrace":            func() syscall.Errno { return raw(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, 1<<22, 0, 0) },
		"kexec_load":        func() syscall.Errno { return raw(unix.SYS_KEXEC_LOAD, 0, 0, 0, 0) },
		"bpf":               func() syscall.Errno { return raw(unix.SYS_BPF, ^uintptr(0), 0, 0) },
		"perf_event_open":   func() syscall.Errno { return raw(unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0), 0) },
		"open_by_handle_at": func() syscall.Errno { return raw(unix.SYS_OPEN_BY_HANDLE_AT, ^uintptr(0), 0, 0) },
		"swapon":            func() syscall.Errno { return raw(unix.SYS_SWAPON, ptr("/nonexistent"), 0) },
		"reboot":            func() syscall.Errno { return raw(unix.SYS_REBOOT, 0, 0, 0, 0) },
		"init_module":       func() syscall.Errno { return raw(unix.SYS_INIT_MODULE, 0, 0, ptr("")) },
		"io_uring_setup":    func() syscall.Errno { return raw(unix.SYS_IO_URING_SETUP, 0, 0) },
		"userfaultfd":       func() syscall.Errno { return raw(unix.SYS_USERFAULTFD, unix.O_CLOEXEC) },
		"get_mempolicy":     func() syscall.Errno { return raw(unix.SYS_GET_MEMPOLICY, 0, 0, 0, 0, 0) },
		"clone":             func() syscall.Errno { return cloneFlags(0) },
		"clone_newuser":     func() syscall.Errno { return cloneFlags(unix.CLONE_NEWUSER) },
		"clone_newns":       func() syscall.Errno { return cloneFlags(unix.CLONE_NEWNS) },
		"clone3":            func() syscall.Errno { return raw(unix.SYS_CLONE3, 0, 0) },
		"socket_inet":       func() syscall.Errno { return socket(unix.AF_INET) },
		"socket_vsock":      func() syscall.Errno { return socket(unix.AF_VSOCK) },
		"socket_alg":        func() syscall.Errno { return socket(unix.AF_ALG) },
		"personality_query": func() syscall.Errno { return raw(unix.SYS_PERSONALITY, 0xffffffff) },
		"personality_norandom": func() syscall.Errno {
			return raw(unix.SYS_PERSONALITY, 0x0040000)
		},
		"chroot":        func() syscall.Errno { return raw(unix.SYS_CHROOT, ptr("/")) },
		"future_call":   func() syscall.Errno { return raw(1000) },
		"getppid_loop":  getppidLoop,
		"chroot_escape": chrootEscape,
	}
}

// chrootEscape tries the classic escape: chroot into a subdirectory while
// the working directory stays outside it, climb, chroot("."). In the
// sandbox that reaches the sandbox's root, never the host's; it prints
// what "/" then holds.
func chrootEscape() syscall.Errno {
	if err := os.MkdirAll("/tmp/jail", 0o755); err != nil {
		return err.(*os.PathError).Err.(syscall.Errno)
	}
	if err := unix.Chroot("/tmp/jail"); err != nil {
		return err.(syscall.Errno)
	}
	for range 20 {
		if err := unix.Chdir(".."); err != nil {
			return err.(syscall.Errno)
		}
	}
	if err := unix.Chroot("."); err != nil {
		return err.(syscall.Errno)
	}
	ents, err := os.ReadDir("/")
	if err != nil {
		return unix.EIO
	}
	fmt.Print("/ holds")
	for _, e := range ents {
		fmt.Print(" ", e.Name())
	}
	fmt.Println()
	return 0
}

func socket(domain int) syscall.Errno {
	fd, err := unix.Socket(domain, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
		return 0
	}
	if errno, ok := err.(syscall.Errno); ok && errno != unix.EPERM && errno != unix.ENOSYS {
		return 0 // the kernel's own answer (no such family, type): the filter let it through
	}
	return err.(syscall.Errno)
}

// getppidLoop makes a million cheap calls, for measuring the filter's cost
// by hand (time seccompprobe getppid_loop).
func getppidLoop() syscall.Errno {
	for range 1000000 {
		syscall.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	}
	return 0
}

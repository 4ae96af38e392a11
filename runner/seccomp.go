package runner

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Offsets into struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16 // low 32 bits on little-endian machines, all we need of clone's flags
)

const (
	retAllow = unix.SECCOMP_RET_ALLOW
	retEPERM = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	// clone3 passes its flags in memory a filter cannot read; ENOSYS makes
	// libc fall back to clone, whose flags it can (Docker does the same).
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
)

// nsFlags are the clone flags that create namespaces (CLONE_NEWTIME is
// clone3 and unshare only: in clone's flags its bit is the exit signal).
const nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
	unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// deniedSyscalls fail with EPERM in the sandbox: those of Docker's default
// profile that matter for escapes (mounts, namespaces, keyrings, tracing,
// kernel modules and images, eBPF, handles, swap, accounting).
func deniedSyscalls() []uint32 {
	return []uint32{
		unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_UNSHARE,
		unix.SYS_SETNS, unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY,
		unix.SYS_PTRACE, unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD,
		unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE,
		unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN, unix.SYS_OPEN_BY_HANDLE_AT,
		unix.SYS_REBOOT, unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_ACCT,
		unix.SYS_USERFAULTFD, unix.SYS_FSOPEN, unix.SYS_FSCONFIG, unix.SYS_FSMOUNT,
		unix.SYS_FSPICK, unix.SYS_MOVE_MOUNT, unix.SYS_OPEN_TREE, unix.SYS_MOUNT_SETATTR,
		unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV, unix.SYS_KCMP,
		unix.SYS_QUOTACTL, unix.SYS_LOOKUP_DCOOKIE, unix.SYS_NAME_TO_HANDLE_AT,
	}
}

func stmt(code uint16, k uint32) unix.SockFilter {
	return unix.SockFilter{Code: code, K: k}
}

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, K: k, Jt: jt, Jf: jf}
}

const (
	ldAbs  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	jeq    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jge    = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	jset   = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	retK   = unix.BPF_RET | unix.BPF_K
	x32Bit = 0x40000000
)

// seccompFilter builds the classic BPF program. Every test jumps at most a
// few instructions, so no offset can overflow its 8 bits.
func seccompFilter() []unix.SockFilter {
	p := []unix.SockFilter{
		stmt(ldAbs, offArch),
		// A foreign ABI (i386 on amd64, arm32 on arm64) has other syscall
		// numbers: refuse all of it rather than let it bypass the list.
		jump(jeq, auditArch, 1, 0),
		stmt(retK, retEPERM),
		stmt(ldAbs, offNr),
	}
	if x32Abi {
		p = append(p, jump(jge, x32Bit, 0, 1), stmt(retK, retEPERM))
	}
	for _, nr := range deniedSyscalls() {
		p = append(p, jump(jeq, nr, 0, 1), stmt(retK, retEPERM))
	}
	p = append(p,
		jump(jeq, unix.SYS_CLONE3, 0, 1), stmt(retK, retENOSYS),
		jump(jeq, unix.SYS_CLONE, 0, 3),
		stmt(ldAbs, offArg0),
		jump(jset, nsFlags, 0, 1),
		stmt(retK, retEPERM),
		stmt(retK, retAllow),
	)
	return p
}

// installSeccomp loads the filter on the calling (locked, about to exec)
// thread; no_new_privs must already be set.
func installSeccomp() error {
	if auditArch == 0 {
		return fmt.Errorf("no seccomp filter for this architecture: use --security=insecure")
	}
	f := seccompFilter()
	prog := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
		return fmt.Errorf("install seccomp filter: %w", err)
	}
	return nil
}

package runner

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The sandbox's seccomp profile is Docker's default one (moby
// profiles/seccomp v0.2.4, default_linux.go) for a container with Docker's
// default capabilities: an allow-list whose default action is EPERM.

// action is what the filter does with one system call.
type action uint8

const (
	actDeny        action = iota // ERRNO(EPERM), Docker's default action
	actAllow                     // allowed whatever the arguments
	actNoSys                     // ERRNO(ENOSYS): clone3, and numbers past the profile's last one
	actPersonality               // allowed for Docker's personality values only
	actClone                     // allowed without namespace flags
	actSocket                    // allowed for every domain but AF_ALG and AF_VSOCK
)

// allowedNames are the calls Docker allows to every container. A name an
// ABI lacks (chown32 on x86_64, riscv_hwprobe anywhere here) is skipped, as
// libseccomp does.
const allowedNames = `
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown
chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir
fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr
flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64
fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv
futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32
getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid
getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit
get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid
gettimeofday getuid getuid32 getxattr getxattrat inotify_add_watch inotify_init
inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule
landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat
listen listmount listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr
lstat lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir
mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify
mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink
mremap mseal msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at
nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal
pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv
preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read
readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg
remap_file_pages removexattr removexattrat rename renameat renameat2 restart_syscall
riscv_hwprobe rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo
rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo
sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid
setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown sigaltstack signalfd
signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64
statmount statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time
timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat
uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid
write writev
`

// capNames are the calls Docker allows only to a container holding a given
// capability.
func capNames() []struct {
	cap   uintptr
	names string
} {
	return []struct {
		cap   uintptr
		names string
	}{
		{unix.CAP_DAC_READ_SEARCH, "open_by_handle_at"},
		{unix.CAP_SYS_ADMIN, "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie " +
			"lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount open_tree " +
			"perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare"},
		{unix.CAP_SYS_BOOT, "reboot"},
		{unix.CAP_SYS_CHROOT, "chroot"},
		{unix.CAP_SYS_MODULE, "delete_module init_module finit_module"},
		{unix.CAP_SYS_PACCT, "acct"},
		{unix.CAP_SYS_PTRACE, "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"},
		{unix.CAP_SYS_RAWIO, "iopl ioperm"},
		{unix.CAP_SYS_TIME, "settimeofday stime clock_settime clock_settime64"},
		{unix.CAP_SYS_TTY_CONFIG, "vhangup"},
		{unix.CAP_SYS_NICE, "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"},
		{unix.CAP_SYSLOG, "syslog"},
		{unix.CAP_BPF, "bpf"},
		{unix.CAP_PERFMON, "perf_event_open"},
	}
}

// profile returns the action for every call name the profile mentions on
// platform p, for a container holding the capabilities hasCap reports.
// Docker allows ptrace and process_vm_{readv,writev} on kernels from 4.8
// on, where a tracer can no longer bypass the tracee's seccomp filter.
func profile(p platform, hasCap func(uintptr) bool, ptraceSafe bool) map[string]action {
	m := make(map[string]action, 400)
	for _, n := range strings.Fields(allowedNames) {
		m[n] = actAllow
	}
	for _, n := range p.extra {
		m[n] = actAllow
	}
	if ptraceSafe {
		m["ptrace"], m["process_vm_readv"], m["process_vm_writev"] = actAllow, actAllow, actAllow
	}
	m["personality"] = actPersonality
	m["socket"] = actSocket
	if !hasCap(unix.CAP_SYS_ADMIN) {
		m["clone"] = actClone
		// clone3 passes its flags in memory a filter cannot read; ENOSYS
		// makes libc fall back to clone, whose flags it can.
		m["clone3"] = actNoSys
	}
	for _, c := range capNames() {
		if hasCap(c.cap) {
			for _, n := range strings.Fields(c.names) {
				m[n] = actAllow
			}
		}
	}
	return m
}

// Argument values of the calls allowed conditionally.
const (
	// nsFlags are the clone flags that create namespaces (CLONE_NEWTIME is
	// clone3 and unshare only: in clone's flags its bit is the exit signal).
	nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
		unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP
	// socketDomainEnd is one past the last domain Docker allows (AF_MCTP).
	socketDomainEnd = unix.AF_MCTP + 1
)

// personalities are the personality(2) arguments Docker allows: PER_LINUX,
// PER_LINUX32, UNAME26, both, and 0xffffffff, which only queries. Not
// ADDR_NO_RANDOMIZE (setarch -R), which Docker refuses too.
func personalities() []uint32 {
	const perLinux32, uname26 = 0x0008, 0x0020000
	return []uint32{0, perLinux32, uname26, uname26 | perLinux32, 0xffffffff}
}

// deniedSocketDomains are the domains below socketDomainEnd Docker refuses:
// AF_ALG (the kernel crypto API, no use in a build) and AF_VSOCK (host/VM
// sockets, not confined by network namespaces).
func deniedSocketDomains() []uint32 {
	return []uint32{unix.AF_ALG, unix.AF_VSOCK}
}

// kernelAtLeast reports whether a uname release ("6.1.0-13-amd64") is at
// least major.minor; an unreadable one counts as old.
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(leadingDigits(parts[1]))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

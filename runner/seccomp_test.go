package runner

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// seccompData is the kernel's struct seccomp_data, as far as a filter reads it.
type seccompData struct {
	nr, arch uint32
	args     [6]uint64
}

func (d seccompData) bytes() []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[0:], d.nr)
	binary.LittleEndian.PutUint32(b[4:], d.arch)
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// runBPF interprets the classic BPF subset a seccomp filter built here may
// use (ld abs word, ja, jeq/jge/jset with a constant, ret constant) and
// returns the action, or an error for anything else, including a jump out
// of the program. steps counts the instructions executed.
func runBPF(prog []unix.SockFilter, d seccompData) (ret uint32, steps int, err error) {
	data := d.bytes()
	var a uint32
	for pc := 0; ; pc++ {
		if pc < 0 || pc >= len(prog) {
			return 0, steps, fmt.Errorf("pc %d outside the program of %d instructions", pc, len(prog))
		}
		steps++
		ins := prog[pc]
		switch ins.Code {
		case ldAbs:
			if ins.K%4 != 0 || int(ins.K)+4 > len(data) {
				return 0, steps, fmt.Errorf("instruction %d loads offset %d", pc, ins.K)
			}
			a = binary.LittleEndian.Uint32(data[ins.K:])
		case ja:
			pc += int(ins.K)
		case jeq, jge, jset:
			var cond bool
			switch ins.Code {
			case jeq:
				cond = a == ins.K
			case jge:
				cond = a >= ins.K
			default:
				cond = a&ins.K != 0
			}
			if cond {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case retK:
			return ins.K, steps, nil
		default:
			return 0, steps, fmt.Errorf("instruction %d: unknown opcode %#x", pc, ins.Code)
		}
	}
}

func actionName(ret uint32) string {
	switch ret {
	case retAllow:
		return "allow"
	case retEPERM:
		return "EPERM"
	case retENOSYS:
		return "ENOSYS"
	case retKill:
		return "kill"
	}
	return fmt.Sprintf("%#x", ret)
}

// withCaps reports holding exactly the given capabilities.
func withCaps(caps ...uintptr) func(uintptr) bool {
	return func(c uintptr) bool {
		for _, h := range caps {
			if h == c {
				return true
			}
		}
		return false
	}
}

func mustCompile(t *testing.T, p platform, hasCap func(uintptr) bool, ptraceSafe bool) []unix.SockFilter {
	t.Helper()
	f, err := compile(p, profile(p, hasCap, ptraceSafe))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// check runs the filter on one call and compares the action.
func check(t *testing.T, f []unix.SockFilter, abiName string, arch, nr uint32, arg0 uint64, want string) {
	t.Helper()
	got, _, err := runBPF(f, seccompData{nr: nr, arch: arch, args: [6]uint64{arg0, 1, 2, 3, 4, 5}})
	if err != nil {
		t.Fatalf("%s nr %#x: %v", abiName, nr, err)
	}
	if actionName(got) != want {
		t.Errorf("%s nr %#x arg0 %#x: %s, want %s", abiName, nr, arg0, actionName(got), want)
	}
}

func platforms() map[string]platform {
	return map[string]platform{"amd64": x86Platform(), "arm64": armPlatform()}
}

func TestSeccompProgramShape(t *testing.T) {
	for name, p := range platforms() {
		f := mustCompile(t, p, inDefault, true)
		if len(f) > unix.BPF_MAXINSNS {
			t.Errorf("%s: %d instructions", name, len(f))
		}
		for i, ins := range f {
			var targets []int
			switch ins.Code {
			case ja:
				targets = []int{i + 1 + int(ins.K)}
			case jeq, jge, jset:
				targets = []int{i + 1 + int(ins.Jt), i + 1 + int(ins.Jf)}
			}
			for _, to := range targets {
				if to >= len(f) {
					t.Errorf("%s: instruction %d jumps to %d, past the end (%d)", name, i, to, len(f))
				}
			}
		}
		if last := f[len(f)-1]; last.Code != retK || last.K != retKill {
			t.Errorf("%s: last instruction %+v, want ret KILL for unknown arches", name, last)
		}
	}
}

// TestSeccompEveryTableEntry runs the program for every call of every
// ABI's table and checks it against the profile, arguments included.
func TestSeccompEveryTableEntry(t *testing.T) {
	for pname, p := range platforms() {
		prof := profile(p, inDefault, true)
		f := mustCompile(t, p, inDefault, true)
		maxSteps := 0
		for _, af := range p.arches {
			for _, a := range af.abis {
				nrs, err := a.numbers()
				if err != nil {
					t.Fatal(err)
				}
				var last uint32
				for name, nr := range nrs {
					if _, ok := prof[name]; ok && nr > last {
						last = nr
					}
				}
				where := pname + "/" + a.name
				for name, nr := range nrs {
					nr := a.base + nr
					in := func(arg0 uint64, want string) {
						t.Helper()
						check(t, f, where+" "+name, af.audit, nr, arg0, want)
						_, steps, _ := runBPF(f, seccompData{nr: nr, arch: af.audit, args: [6]uint64{arg0}})
						maxSteps = max(maxSteps, steps)
					}
					switch act, named := prof[name]; {
					case !named && nr-a.base > last:
						in(0, "ENOSYS")
					case act == actDeny:
						in(0, "EPERM")
					case act == actAllow:
						in(0, "allow")
						in(1<<63|0xffffffff, "allow")
					case act == actNoSys:
						in(0, "ENOSYS")
					case act == actPersonality:
						for _, v := range personalities() {
							in(uint64(v), "allow")
						}
						in(0x0040000, "EPERM") // ADDR_NO_RANDOMIZE
						in(1, "EPERM")
						if a.bits64 {
							in(1<<32, "EPERM")
						}
					case act == actClone:
						in(uint64(unix.SIGCHLD), "allow")
						in(unix.CLONE_VM|unix.CLONE_FS|unix.CLONE_FILES|unix.CLONE_SIGHAND|unix.CLONE_THREAD|unix.CLONE_SYSVSEM|unix.CLONE_SETTLS|unix.CLONE_PARENT_SETTID|unix.CLONE_CHILD_CLEARTID, "allow")
						for _, fl := range []uint64{unix.CLONE_NEWNS, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC, unix.CLONE_NEWUSER, unix.CLONE_NEWPID, unix.CLONE_NEWNET, unix.CLONE_NEWCGROUP} {
							in(fl|uint64(unix.SIGCHLD), "EPERM")
						}
					case act == actSocket:
						for _, d := range []uint64{0, unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK, unix.AF_PACKET, unix.AF_NFC, unix.AF_KCM, unix.AF_MCTP} {
							in(d, "allow")
						}
						for _, d := range []uint64{unix.AF_ALG, unix.AF_VSOCK, unix.AF_MCTP + 1, 0xffffffff} {
							in(d, "EPERM")
						}
						if a.bits64 {
							in(1<<32|unix.AF_INET, "EPERM")
						}
					default:
						t.Errorf("%s %s: action %d untested", where, name, act)
					}
				}
			}
		}
		// A binary search: a handful of tests per call, never a chain
		// through hundreds of them.
		if maxSteps > 30 {
			t.Errorf("%s: a call took %d instructions", pname, maxSteps)
		}
		t.Logf("%s: %d instructions, at most %d run per call", pname, len(f), maxSteps)
	}
}

// TestSeccompDockerDecisions pins decisions of Docker's default profile
// with its default capabilities, independently of profile().
func TestSeccompDockerDecisions(t *testing.T) {
	type want struct{ names, action string }
	common := []want{
		{"read write openat execve fork vfork wait4 exit_group mmap mprotect futex rt_sigaction " +
			"getdents64 statx fchownat mknodat setuid setgroups capset prctl seccomp ioctl chroot " +
			"name_to_handle_at memfd_create sendfile ptrace process_vm_readv process_vm_writev", "allow"},
		{"mount umount2 pivot_root unshare setns keyctl add_key request_key kexec_load kexec_file_load " +
			"init_module finit_module delete_module bpf perf_event_open open_by_handle_at swapon swapoff " +
			"reboot acct userfaultfd fsopen fsmount fspick move_mount open_tree mount_setattr kcmp " +
			"pidfd_getfd process_madvise quotactl lookup_dcookie io_uring_setup io_uring_enter sethostname " +
			"setdomainname syslog settimeofday clock_settime vhangup mbind set_mempolicy get_mempolicy " +
			"fanotify_init", "EPERM"},
		{"clone3", "ENOSYS"},
	}
	// Calls newer than the profile get ENOSYS, but only past the last
	// number the profile names: x32's own calls (512 on) and arm's private
	// ones (0x0f0000 on) come after them.
	newer := want{"open_tree_attr file_getattr file_setattr listns", "ENOSYS"}
	perABI := map[string][]want{
		"x86_64":  {{"arch_prctl modify_ldt", "allow"}, {"iopl ioperm", "EPERM"}, newer},
		"x32":     {{"arch_prctl modify_ldt preadv2", "allow"}, {"open_tree_attr listns", "EPERM"}},
		"i386":    {{"socketcall ipc _llseek mmap2 chown32 modify_ldt arch_prctl", "allow"}, {"iopl ioperm stime", "EPERM"}, newer},
		"aarch64": {newer},
		"arm":     {{"breakpoint cacheflush set_tls arm_fadvise64_64 sync_file_range2", "allow"}, {"usr26 listns", "EPERM"}, {"get_tls", "ENOSYS"}},
	}
	for pname, p := range platforms() {
		f := mustCompile(t, p, inDefault, true)
		for _, af := range p.arches {
			for _, a := range af.abis {
				nrs, _ := a.numbers()
				for i, w := range append(common, perABI[a.name]...) {
					for _, name := range strings.Fields(w.names) {
						nr, ok := nrs[name]
						if !ok {
							// Not every ABI has every common call (fork on
							// aarch64, mmap on arm); its own ones it must.
							if i >= len(common) {
								t.Errorf("%s/%s has no %s", pname, a.name, name)
							}
							continue
						}
						check(t, f, pname+"/"+a.name+" "+name, af.audit, a.base+nr, 0, w.action)
					}
				}
			}
		}
	}
	x86 := mustCompile(t, x86Platform(), inDefault, true)
	// Past the last number any ABI's table has, and x32 numbers that are
	// 64-bit-only calls (rt_sigaction 13; x32 has its own at 512).
	check(t, x86, "x86_64", unix.AUDIT_ARCH_X86_64, 1000, 0, "ENOSYS")
	check(t, x86, "x86_64", unix.AUDIT_ARCH_X86_64, x32Bit-1, 0, "ENOSYS")
	check(t, x86, "x86_64", unix.AUDIT_ARCH_X86_64, 0xffffffff, 0, "ENOSYS")
	check(t, x86, "x32", unix.AUDIT_ARCH_X86_64, x32Bit+13, 0, "EPERM")
	check(t, x86, "x32", unix.AUDIT_ARCH_X86_64, x32Bit+512, 0, "allow")
	check(t, x86, "i386", unix.AUDIT_ARCH_I386, 1000, 0, "ENOSYS")
	for _, arch := range []uint32{unix.AUDIT_ARCH_AARCH64, unix.AUDIT_ARCH_ARM, unix.AUDIT_ARCH_ARMEB, 0} {
		check(t, x86, "foreign arch", arch, 0, 0, "kill")
	}
	check(t, mustCompile(t, armPlatform(), inDefault, true), "x86_64 on arm64", unix.AUDIT_ARCH_X86_64, 0, 0, "kill")
}

func TestSeccompFollowsCapabilitiesAndKernel(t *testing.T) {
	p := x86Platform()
	nrs, _ := p.arches[0].abis[0].numbers()
	audit := p.arches[0].audit
	admin := mustCompile(t, p, withCaps(unix.CAP_SYS_ADMIN), true)
	check(t, admin, "mount with CAP_SYS_ADMIN", audit, nrs["mount"], 0, "allow")
	check(t, admin, "clone3 with CAP_SYS_ADMIN", audit, nrs["clone3"], 0, "allow")
	check(t, admin, "clone NEWUSER with CAP_SYS_ADMIN", audit, nrs["clone"], unix.CLONE_NEWUSER, "allow")
	check(t, admin, "chroot without CAP_SYS_CHROOT", audit, nrs["chroot"], 0, "EPERM")
	none := mustCompile(t, p, withCaps(), true)
	check(t, none, "clone NEWNS without caps", audit, nrs["clone"], unix.CLONE_NEWNS, "EPERM")
	check(t, mustCompile(t, p, withCaps(unix.CAP_SYS_PTRACE), true), "kcmp with CAP_SYS_PTRACE", audit, nrs["kcmp"], 0, "allow")
	old := mustCompile(t, p, inDefault, false)
	check(t, old, "ptrace before Linux 4.8", audit, nrs["ptrace"], 0, "EPERM")
	check(t, old, "process_vm_writev before Linux 4.8", audit, nrs["process_vm_writev"], 0, "EPERM")
}

// TestSeccompHostTable checks the table the sandbox uses against the
// numbers golang.org/x/sys/unix was built with.
func TestSeccompHostTable(t *testing.T) {
	p, ok := hostPlatform()
	if !ok {
		t.Skip("no seccomp tables for this architecture")
	}
	nrs, err := p.arches[0].abis[0].numbers()
	if err != nil {
		t.Fatal(err)
	}
	for name, nr := range map[string]uint32{
		"read": unix.SYS_READ, "execve": unix.SYS_EXECVE, "clone": unix.SYS_CLONE, "clone3": unix.SYS_CLONE3,
		"mount": unix.SYS_MOUNT, "personality": unix.SYS_PERSONALITY, "socket": unix.SYS_SOCKET,
		"ptrace": unix.SYS_PTRACE, "chroot": unix.SYS_CHROOT, "removexattrat": unix.SYS_REMOVEXATTRAT,
	} {
		if nrs[name] != nr {
			t.Errorf("%s is %d in the table, %d in x/sys/unix", name, nrs[name], nr)
		}
	}
	if _, err := seccompFilter(); err != nil {
		t.Fatal(err)
	}
}

// TestSeccompTablesUnambiguous guards the tables: two names on one number
// would give that number whichever action came last.
func TestSeccompTablesUnambiguous(t *testing.T) {
	aliases := map[string]bool{"arm_sync_file_range": true, "sync_file_range2": true}
	for pname, p := range platforms() {
		for _, af := range p.arches {
			for _, a := range af.abis {
				nrs, err := a.numbers()
				if err != nil {
					t.Fatal(err)
				}
				seen := map[uint32]string{}
				for name, nr := range nrs {
					if other, dup := seen[nr]; dup && !(aliases[name] && aliases[other]) {
						t.Errorf("%s/%s: %s and %s are both %d", pname, a.name, name, other, nr)
					}
					seen[nr] = name
				}
			}
		}
	}
}

func TestSeccompProfileNamesExist(t *testing.T) {
	// Docker's list serves every architecture; these exist on none of ours.
	elsewhere := map[string]bool{"riscv_hwprobe": true}
	known := map[string]bool{}
	for _, p := range platforms() {
		for _, af := range p.arches {
			for _, a := range af.abis {
				nrs, _ := a.numbers()
				for n := range nrs {
					known[n] = true
				}
			}
		}
	}
	for _, n := range strings.Fields(allowedNames) {
		if !known[n] && !elsewhere[n] {
			t.Errorf("%s is in no table: misspelt?", n)
		}
	}
}

func TestKernelAtLeast(t *testing.T) {
	for rel, want := range map[string]bool{
		"6.1.0-13-amd64": true, "4.8.0": true, "4.7.10": false, "3.10.0-1160.el7.x86_64": false,
		"5.4": true, "4.19-rc1": true, "": false, "garbage": false,
	} {
		if got := kernelAtLeast(rel, 4, 8); got != want {
			t.Errorf("kernelAtLeast(%q, 4, 8) = %v", rel, got)
		}
	}
}

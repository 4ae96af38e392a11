package runner_test

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gorae/gorae/runner"
)

// buildProbe compiles testdata/seccompprobe statically into the rootfs as
// /bin/probe.
func buildProbe(t *testing.T, root string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go tool to build the seccomp probe")
	}
	cmd := exec.Command(goTool, "build", "-o", filepath.Join(root, "bin/probe"), "./testdata/seccompprobe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the seccomp probe: %v\n%s", err, out)
	}
}

// probe runs /bin/probe in the sandbox and returns each call's result.
func probe(t *testing.T, p runner.Process, calls ...string) map[string]string {
	t.Helper()
	p.Args = append([]string{"/bin/probe"}, calls...)
	res := run(t, p)
	if res.err != nil {
		t.Fatalf("probe: %v (stderr %q)", res.err, res.stderr)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		if name, result, ok := strings.Cut(line, " "); ok {
			got[name] = result
		}
	}
	return got
}

func TestSeccompCommonProgramsWork(t *testing.T) {
	root := newRootfs(t)
	for _, a := range []string{"cp", "tar", "dd", "date", "rm"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	res := sh(t, root, `set -e
date +%Y >/dev/null
cp /bin/busybox /tmp/bb
tar -cf /tmp/t.tar -C /tmp bb && rm /tmp/bb && tar -xf /tmp/t.tar -C /tmp && ls /tmp
dd if=/dev/zero of=/tmp/z bs=1024 count=4 2>/dev/null && wc -c < /tmp/z
sleep 0.01 & wait
mkdir -p /tmp/jail/bin && cp /bin/busybox /tmp/jail/bin/ && chroot /tmp/jail /bin/busybox ls /
echo done`)
	if want := "bb\nt.tar\n4096\nbin\ndone\n"; res.err != nil || res.stdout != want {
		t.Errorf("stdout %q, want %q (err %v, stderr %q)", res.stdout, want, res.err, res.stderr)
	}
}

func TestSeccompDecisionsInSandbox(t *testing.T) {
	root := newRootfs(t)
	buildProbe(t, root)
	want := map[string]string{
		// Escapes and kernel attack surface: Docker's profile refuses them.
		"mount": "EPERM", "umount2": "EPERM", "unshare": "EPERM", "setns": "EPERM",
		"keyctl": "EPERM", "add_key": "EPERM", "kexec_load": "EPERM", "bpf": "EPERM",
		"perf_event_open": "EPERM", "open_by_handle_at": "EPERM", "init_module": "EPERM",
		"swapon": "EPERM", "reboot": "EPERM", "io_uring_setup": "EPERM", "userfaultfd": "EPERM",
		"get_mempolicy":        "EPERM",
		"clone_newuser":        "EPERM",
		"clone_newns":          "EPERM",
		"socket_vsock":         "EPERM",
		"socket_alg":           "EPERM",
		"clone3":               "ENOSYS", // so that libc falls back to clone
		"future_call":          "ENOSYS",
		"clone":                "ok",
		"socket_inet":          "ok",
		"chroot":               "ok", // CAP_SYS_CHROOT is one of Docker's default capabilities
		"personality_query":    "ok",
		"personality_norandom": "EPERM",
		// Docker allows ptrace from Linux 4.8 on: the kernel's answer
		// (no such tracee), not the filter's.
		"ptrace": "ESRCH",
	}
	var calls []string
	for c := range want {
		calls = append(calls, c)
	}
	got := probe(t, runner.Process{Rootfs: root}, calls...)
	for c, w := range want {
		if got[c] != w {
			t.Errorf("%s: %q, want %q", c, got[c], w)
		}
	}
	// The filter holds for any user; without capabilities chroot fails too.
	got = probe(t, runner.Process{Rootfs: root, UID: 1000, GID: 1000}, "keyctl", "clone", "clone_newuser", "chroot")
	if got["keyctl"] != "EPERM" || got["clone"] != "ok" || got["clone_newuser"] != "EPERM" || got["chroot"] != "EPERM" {
		t.Errorf("as uid 1000: %v", got)
	}
	// chroot is allowed, but climbing out of one ends at the sandbox's
	// root: the rootfs and the mount points the runner made, nothing of
	// the host's.
	res := run(t, runner.Process{Rootfs: root, Args: []string{"/bin/probe", "chroot_escape"}})
	if want := "/ holds bin dev etc home proc sys tmp\nchroot_escape ok\n"; res.err != nil || res.stdout != want {
		t.Errorf("chroot escape: stdout %q, want %q (err %v, stderr %q)", res.stdout, want, res.err, res.stderr)
	}
}

// compatCall returns a static x86_64 ELF that makes one system call with
// all arguments 0 through another ABI's entry, then exits with the negated
// result: the errno when it failed. abi is "i386" (int $0x80, which a
// 64-bit program may use too) or "x32" (syscall with bit 30 set).
func compatCall(abi string, nr uint32) []byte {
	le := binary.LittleEndian
	var code []byte
	switch abi {
	case "i386":
		code = le.AppendUint32([]byte{0xb8}, nr) // mov $nr, %eax
		code = append(code,
			0x31, 0xdb, 0x31, 0xc9, 0x31, 0xd2, // xor %ebx,%ebx; xor %ecx,%ecx; xor %edx,%edx
			0x31, 0xf6, 0x31, 0xff, 0x31, 0xed, // xor %esi,%esi; xor %edi,%edi; xor %ebp,%ebp
			0xcd, 0x80) // int $0x80
	case "x32":
		code = le.AppendUint32([]byte{0xb8}, 0x40000000|nr) // mov $(nr|__X32_SYSCALL_BIT), %eax
		code = append(code,
			0x31, 0xff, 0x31, 0xf6, 0x31, 0xd2, // xor %edi,%edi; xor %esi,%esi; xor %edx,%edx
			0x4d, 0x31, 0xd2, 0x4d, 0x31, 0xc0, 0x4d, 0x31, 0xc9, // xor %r10,%r10; xor %r8,%r8; xor %r9,%r9
			0x0f, 0x05) // syscall
	}
	code = append(code,
		0xf7, 0xd8, 0x89, 0xc7, // neg %eax; mov %eax,%edi
		0xb8, 60, 0, 0, 0, 0x0f, 0x05) // exit(%edi), the native way
	const base, hdr = 0x400000, 64 + 56
	b := make([]byte, hdr, hdr+len(code))
	copy(b, "\x7fELF\x02\x01\x01")
	le.PutUint16(b[16:], 2)  // ET_EXEC
	le.PutUint16(b[18:], 62) // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], base+hdr) // entry
	le.PutUint64(b[32:], 64)       // program headers
	le.PutUint16(b[52:], 64)
	le.PutUint16(b[54:], 56)
	le.PutUint16(b[56:], 1)
	ph := b[64:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5) // R+X
	le.PutUint64(ph[16:], base)
	le.PutUint64(ph[24:], base)
	le.PutUint64(ph[32:], uint64(hdr+len(code)))
	le.PutUint64(ph[40:], uint64(hdr+len(code)))
	le.PutUint64(ph[48:], 0x1000)
	return append(b, code...)
}

// TestSeccompCompatABIs makes calls through the i386 and x32 entries, the
// classic way around a filter that only knows the native numbers.
func TestSeccompCompatABIs(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the compat programs are x86_64 code")
	}
	root := newRootfs(t)
	call := func(t *testing.T, abi string, nr uint32, insecure bool) int {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, "bin/call"), compatCall(abi, nr), 0o755); err != nil {
			t.Fatal(err)
		}
		res := run(t, runner.Process{Rootfs: root, Args: []string{"/bin/call"}, Insecure: insecure})
		var ee *runner.ExitError
		if res.err == nil {
			return 0
		}
		if !errors.As(res.err, &ee) || ee.Signal != "" {
			t.Fatalf("%s call %d: %v (stderr %q)", abi, nr, res.err, res.stderr)
		}
		return ee.Code
	}
	const eperm, enosys = 1, 38
	t.Run("x32", func(t *testing.T) {
		// The filter sees x32 numbers even where the kernel has no x32
		// ABI (then ENOSYS follows for what the filter lets through).
		if got := call(t, "x32", 272, false); got != eperm { // unshare
			t.Errorf("x32 unshare(0): exit %d, want %d (EPERM)", got, eperm)
		}
		if got := call(t, "x32", 13, false); got != eperm { // rt_sigaction, 64-bit only
			t.Errorf("x32 64-bit-only call: exit %d, want %d (EPERM)", got, eperm)
		}
		if got := call(t, "x32", 39, false); got != enosys && got != 255 { // getpid: ENOSYS, or pid 1 negated
			t.Errorf("x32 getpid: exit %d, want the kernel's answer", got)
		}
	})
	t.Run("i386", func(t *testing.T) {
		host := filepath.Join(t.TempDir(), "call")
		if err := os.WriteFile(host, compatCall("i386", 20), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := exec.Command(host).Run(); err != nil && strings.Contains(err.Error(), "signal") {
			t.Skip("this kernel runs no i386 system calls (ia32 emulation off)")
		}
		for _, c := range []struct {
			name string
			nr   uint32
			want int
		}{
			{"getpid", 20, 255}, // pid 1, negated
			{"unshare(0)", 310, eperm},
			{"mount", 21, eperm},
			{"keyctl", 288, eperm},
			{"call 1000", 1000, enosys},
		} {
			if got := call(t, "i386", c.nr, false); got != c.want {
				t.Errorf("i386 %s: exit %d, want %d", c.name, got, c.want)
			}
		}
		if got := call(t, "i386", 310, true); got != 0 {
			t.Errorf("i386 unshare(0) without the filter: exit %d, want 0", got)
		}
	})
}

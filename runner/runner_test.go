package runner_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/runner"
	"github.com/gorae/gorae/snapshot"
)

func TestMain(m *testing.M) {
	if runner.Main() {
		return
	}
	// Every test directory lives under one private TMPDIR, so a mount
	// left behind by these tests (and only by them: other packages'
	// tests run at the same time) shows up under it.
	tmp, err := os.MkdirTemp("", "runner-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", tmp)
	code := m.Run()
	if left := mountsUnder(tmp); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "mounts left on the host by the tests:\n%s\n", strings.Join(left, "\n"))
		code = 1
	}
	os.RemoveAll(tmp)
	if err := testutil.CheckLeaks(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

var applets = []string{"sh", "cat", "ls", "id", "mount", "hostname", "ip", "ps", "sleep", "echo", "touch", "chroot", "true", "mkdir", "unshare", "grep", "sort", "tr", "wc", "head", "tail", "cut", "env", "kill"}

// newRootfs builds a tiny root file system from the static busybox.
func newRootfs(tb testing.TB) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("the sandbox needs root (namespaces, mounts, pivot_root)")
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		tb.Skipf("needs Debian's busybox-static at /bin/busybox: %v", err)
	}
	root := filepath.Join(tb.TempDir(), "rootfs")
	for _, d := range []string{"bin", "tmp", "home/user", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chown(filepath.Join(root, "home/user"), 1000, 1000); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), bb, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			tb.Fatal(err)
		}
	}
	return root
}

type result struct {
	stdout, stderr string
	err            error
}

func run(t testing.TB, p runner.Process) result {
	t.Helper()
	var out, errb bytes.Buffer
	p.Stdout, p.Stderr = &out, &errb
	if p.Env == nil {
		p.Env = []string{"PATH=/bin"}
	}
	r := runner.Runner{Init: "/proc/self/exe"}
	err := r.Run(context.Background(), p)
	return result{out.String(), errb.String(), err}
}

func sh(t *testing.T, root, script string) result {
	t.Helper()
	return run(t, runner.Process{Rootfs: root, Args: []string{"sh", "-c", script}})
}

func TestExitCodeAndOutput(t *testing.T) {
	root := newRootfs(t)
	res := sh(t, root, "echo out; echo err >&2; exit 3")
	var ee *runner.ExitError
	if !errors.As(res.err, &ee) || ee.Code != 3 || ee.Signal != "" {
		t.Fatalf("err = %v, want *ExitError code 3", res.err)
	}
	if res.err.Error() != "exit code 3" {
		t.Errorf("Error() = %q", res.err.Error())
	}
	if res.stdout != "out\n" || res.stderr != "err\n" {
		t.Errorf("stdout %q stderr %q", res.stdout, res.stderr)
	}
	if res := sh(t, root, "true"); res.err != nil {
		t.Errorf("true: %v", res.err)
	}
}

func TestEnvCwdStdin(t *testing.T) {
	root := newRootfs(t)
	res := run(t, runner.Process{
		Rootfs: root, Args: []string{"sh", "-c", `echo "$FOO $(pwd)"; cat`},
		Env: []string{"PATH=/bin", "FOO=bar"}, Cwd: "/home/user",
		Stdin: strings.NewReader("from stdin\n"),
	})
	if res.err != nil || res.stdout != "bar /home/user\nfrom stdin\n" {
		t.Errorf("got %q, %v (stderr %q)", res.stdout, res.err, res.stderr)
	}
	// Nothing of the runner's own environment leaks in.
	res = run(t, runner.Process{Rootfs: root, Args: []string{"/bin/sh", "-c", "env"}, Env: []string{"A=1"}})
	if res.err != nil || !strings.Contains(res.stdout, "A=1\n") || strings.Contains(res.stdout, "gorae-runner") || strings.Contains(res.stdout, "HOME=/root") {
		t.Errorf("env: %q, %v", res.stdout, res.err)
	}
}

func TestUserSwitch(t *testing.T) {
	root := newRootfs(t)
	res := run(t, runner.Process{
		Rootfs: root, Args: []string{"sh", "-c", "id -u; id -g; id -G; grep Cap /proc/self/status; touch /x"},
		UID: 1000, GID: 1001, Groups: []uint32{1001, 2000}, Cwd: "/home/user",
	})
	want := "1000\n1001\n1001 2000\n"
	if !strings.HasPrefix(res.stdout, want) {
		t.Fatalf("stdout %q, want prefix %q (err %v, stderr %q)", res.stdout, want, res.err, res.stderr)
	}
	for _, c := range []string{"CapInh:\t0000000000000000", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000", "CapBnd:\t00000000a80425fb", "CapAmb:\t0000000000000000"} {
		if !strings.Contains(res.stdout, c) {
			t.Errorf("missing %q in %q", c, res.stdout)
		}
	}
	if res.err == nil || !strings.Contains(res.stderr, "Permission denied") {
		t.Errorf("touch /x as uid 1000: err %v stderr %q", res.err, res.stderr)
	}
}

func TestRootCapabilities(t *testing.T) {
	root := newRootfs(t)
	res := sh(t, root, "grep Cap /proc/self/status")
	// Docker's default set is 0xa80425fb.
	for _, c := range []string{"CapPrm:\t00000000a80425fb", "CapEff:\t00000000a80425fb", "CapBnd:\t00000000a80425fb", "CapInh:\t0000000000000000"} {
		if !strings.Contains(res.stdout, c) {
			t.Errorf("missing %q in %q (err %v)", c, res.stdout, res.err)
		}
	}
	res = sh(t, root, "grep -E 'NoNewPrivs|Seccomp:' /proc/self/status")
	if !strings.Contains(res.stdout, "NoNewPrivs:\t1") || !strings.Contains(res.stdout, "Seccomp:\t2") {
		t.Errorf("status: %q", res.stdout)
	}
}

func TestHostnameAndPIDNamespace(t *testing.T) {
	root := newRootfs(t)
	res := sh(t, root, "hostname; echo $$; ls /proc | grep '^[0-9]' | sort -n | tr '\\n' ' '")
	if res.err != nil {
		t.Fatalf("%v: %s", res.err, res.stderr)
	}
	lines := strings.Split(res.stdout, "\n")
	if lines[0] != "gorae" {
		t.Errorf("hostname %q", lines[0])
	}
	if lines[1] != "1" {
		t.Errorf("the command is pid %q, want 1", lines[1])
	}
	// sh (1), ls and grep/sort/tr: nothing from the host, whose pids are many.
	if pids := strings.Fields(lines[2]); len(pids) > 6 || pids[0] != "1" {
		t.Errorf("/proc shows pids %v", pids)
	}
	res = run(t, runner.Process{Rootfs: root, Args: []string{"ps", "-o", "pid,comm"}})
	if fields := strings.Fields(res.stdout); res.err != nil || len(fields) != 4 || fields[2] != "1" || fields[3] != "ps" {
		t.Errorf("ps shows %q, %v: want only itself as pid 1", res.stdout, res.err)
	}
	res = run(t, runner.Process{Rootfs: root, Args: []string{"hostname"}, Hostname: "builder"})
	if res.stdout != "builder\n" {
		t.Errorf("hostname %q, %v", res.stdout, res.err)
	}
}

func TestEscapesRefused(t *testing.T) {
	root := newRootfs(t)
	cases := []struct{ script, wantErr string }{
		{"mount -t tmpfs x /tmp", "permission denied"}, // busybox's words for EPERM
		{"mkdir -p /tmp/m && mount --bind /bin /tmp/m", "permission denied"},
		{"echo evil > /proc/sys/kernel/hostname", "Read-only file system"},
		{"ls /work", "No such file or directory"},
		{"ls /proc/1/root/work", "No such file or directory"},
		{"chroot /proc/1/root ls /work", "No such file or directory"},
		{"cat /etc/passwd", "No such file or directory"},
		{"unshare -m true", "Operation not permitted"},
		{"unshare -U true", "Operation not permitted"},
	}
	for _, c := range cases {
		res := sh(t, root, c.script)
		if res.err == nil {
			t.Errorf("%q succeeded: %q", c.script, res.stdout)
			continue
		}
		if !strings.Contains(res.stderr, c.wantErr) {
			t.Errorf("%q: stderr %q, want %q", c.script, res.stderr, c.wantErr)
		}
	}
	if res := sh(t, root, "cat /proc/kcore | wc -c; cat /proc/keys | wc -c"); res.stdout != "0\n0\n" {
		t.Errorf("masked files read %q (%v, %s)", res.stdout, res.err, res.stderr)
	}
}

func TestNetworkNone(t *testing.T) {
	root := newRootfs(t)
	res := run(t, runner.Process{Rootfs: root, Network: "none",
		Args: []string{"sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags; tail -n +3 /proc/net/dev | cut -d: -f1"}})
	if res.err != nil || res.stdout != "lo\n0x9\n    lo\n" {
		t.Errorf("got %q, %v (%s)", res.stdout, res.err, res.stderr)
	}
	res = run(t, runner.Process{Rootfs: root, Args: []string{"ls", "/sys/class/net"}})
	if res.err != nil || res.stdout == "lo\n" {
		t.Errorf("default network shows %q, %v: want the host's interfaces", res.stdout, res.err)
	}
}

func TestDevAndEtc(t *testing.T) {
	root := newRootfs(t)
	res := sh(t, root, "ls /dev | tr '\\n' ' '; echo; echo x > /dev/null && head -c 4 /dev/zero | wc -c; cat /etc/resolv.conf >/dev/null && echo resolv; echo x >> /etc/hosts")
	if !strings.HasPrefix(res.stdout, "core fd full null ptmx pts random shm stderr stdin stdout tty urandom zero \n4\nresolv\n") {
		t.Errorf("stdout %q stderr %q", res.stdout, res.stderr)
	}
	if !strings.Contains(res.stderr, "Read-only file system") {
		t.Errorf("/etc/hosts writable: %q, %v", res.stderr, res.err)
	}
	for _, f := range []string{"etc/hosts", "etc/resolv.conf", "proc", "sys", "dev"} {
		if _, err := os.Lstat(filepath.Join(root, f)); err != nil {
			t.Errorf("mount point %s not created: %v", f, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "dev")); len(ents) != 0 {
		t.Errorf("/dev entries leaked into the rootfs: %v", ents)
	}
}

func TestExtraMounts(t *testing.T) {
	root := newRootfs(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, runner.Process{Rootfs: root,
		Args: []string{"sh", "-c", "cat /ro/f; touch /ro/g; echo w > /rw/g; touch /cache/x && ls /cache"},
		Mounts: []runner.Mount{
			{Source: src, Target: "/ro", Type: "bind", Options: []string{"ro"}},
			{Source: src, Target: "/rw", Type: "bind"},
			{Target: "/cache", Type: "tmpfs", Options: []string{"size=1m"}},
		}})
	if res.stdout != "hello\nx\n" || !strings.Contains(res.stderr, "Read-only file system") {
		t.Errorf("stdout %q stderr %q err %v", res.stdout, res.stderr, res.err)
	}
	if b, err := os.ReadFile(filepath.Join(src, "g")); err != nil || string(b) != "w\n" {
		t.Errorf("rw bind wrote %q, %v", b, err)
	}
}

func TestSymlinkedMountPointStaysInside(t *testing.T) {
	root := newRootfs(t)
	outside := t.TempDir()
	// A hostile image: /etc is a symlink to a host directory.
	if err := os.Remove(filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	res := sh(t, root, "true")
	if res.err != nil {
		t.Fatalf("%v", res.err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("files created outside the rootfs: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(root, outside, "hosts")); err != nil {
		t.Errorf("mount point not created inside the rootfs: %v", err)
	}
}

func TestSetupErrors(t *testing.T) {
	root := newRootfs(t)
	res := run(t, runner.Process{Rootfs: root, Args: []string{"nosuch"}})
	if res.err == nil || !strings.Contains(res.err.Error(), "nosuch: executable file not found in PATH /bin") {
		t.Errorf("err = %v", res.err)
	}
	res = run(t, runner.Process{Rootfs: root, Args: []string{"true"}, Cwd: "/missing"})
	if res.err == nil || !strings.Contains(res.err.Error(), "change to working directory /missing") {
		t.Errorf("err = %v", res.err)
	}
	res = run(t, runner.Process{Rootfs: root, Args: []string{"true"}, Network: "bridge"})
	if res.err == nil || !strings.Contains(res.err.Error(), `unknown network mode "bridge"`) {
		t.Errorf("err = %v", res.err)
	}
}

func TestInsecure(t *testing.T) {
	root := newRootfs(t)
	res := run(t, runner.Process{Rootfs: root, Insecure: true,
		Args: []string{"sh", "-c", "grep -E 'CapEff|Seccomp:' /proc/self/status; mount -t tmpfs x /tmp && echo mounted"}})
	if res.err != nil || !strings.Contains(res.stdout, "Seccomp:\t0") || !strings.Contains(res.stdout, "mounted") || strings.Contains(res.stdout, "CapEff:\t00000000a80425fb") {
		t.Errorf("got %q, %v (%s)", res.stdout, res.err, res.stderr)
	}
}

// hostSleeps counts processes on the host running "sleep <arg>".
func hostSleeps(arg string) int {
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && string(b) == "sleep\x00"+arg+"\x00" {
			n++
		}
	}
	return n
}

func TestNothingOutlivesTheCommand(t *testing.T) {
	root := newRootfs(t)
	res := sh(t, root, "sleep 4711 & sleep 4711 & sleep 0.2; echo started")
	if res.err != nil || res.stdout != "started\n" {
		t.Fatalf("%q %v", res.stdout, res.err)
	}
	if n := hostSleeps("4711"); n != 0 {
		t.Errorf("%d background sleeps outlived the command", n)
	}
}

func TestCancel(t *testing.T) {
	root := newRootfs(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := runner.Runner{Init: "/proc/self/exe"}
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, runner.Process{Rootfs: root, Args: []string{"sh", "-c", "sleep 4712 & sleep 100"}, Env: []string{"PATH=/bin"}})
	}()
	for i := 0; hostSleeps("100") == 0 && i < 200; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("cancel took %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if n := hostSleeps("4712") + hostSleeps("100"); n != 0 {
		t.Errorf("%d processes outlived the cancel", n)
	}
}

// mountsUnder lists the mount points of this mount namespace below dir.
func mountsUnder(dir string) []string {
	ms, err := snapshot.Mounts()
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, m := range ms {
		if strings.HasPrefix(m.Point, dir+"/") {
			out = append(out, m.Point)
		}
	}
	return out
}

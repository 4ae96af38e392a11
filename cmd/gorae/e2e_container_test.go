package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/runner"
)

// checkNothingLeft fails when a container left an active snapshot or a
// mount under the root.
func checkNothingLeft(t *testing.T, g *testutil.Gorae) {
	t.Helper()
	left, _ := os.ReadDir(filepath.Join(g.Root, "snapshots", "active"))
	for _, e := range left {
		t.Errorf("active snapshot left behind: %s", e.Name())
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mounts), "\n") {
		if strings.Contains(l, g.Root) {
			t.Errorf("still mounted under the root: %s", l)
		}
	}
}

// TestContainerConfig: the image's ENTRYPOINT, CMD, ENV, WORKDIR and
// USER apply as in docker run, and each flag overrides its part.
func TestContainerConfig(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	g.Env = []string{"FROM_HOST=host value"} // for -e FROM_HOST
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": `FROM busybox
ENV GREETING=hello
WORKDIR /srv
USER app
ENTRYPOINT ["echo", "ep"]
CMD ["default"]
`,
		"vars.env": "# comment\n\nFROM_FILE=file value\nGREETING=from-file\n",
	})
	g.Must(t, dir, "build", "-q", "-t", "cfg", ".")
	sh := func(script string, flags ...string) testutil.Result {
		t.Helper()
		args := append(append([]string{"run", "--rm", "--entrypoint", "sh"}, flags...), "cfg", "-c", script)
		return g.Run(t, dir, args...)
	}
	cases := []struct {
		name string
		r    testutil.Result
		want string
	}{
		{"image CMD", g.Run(t, dir, "run", "cfg"), "ep default\n"},
		{"args replace CMD", g.Run(t, dir, "run", "cfg", "-x", "y"), "ep -x y\n"},
		{"image config", sh(`echo "$GREETING $(pwd) $(id -u) $HOME $PATH"; [ -z "$TERM" ] && echo no-term`),
			"hello /srv 1000 /home/app /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nno-term\n"},
		{"-e -w -u", sh(`echo "$GREETING $FROM_HOST $(pwd) $(id -u):$(id -g) $HOME"`, "-e", "GREETING=bye", "-e", "FROM_HOST", "-e", "UNSET_ON_HOST", "-w", "/new/dir", "-u", "0:65534"),
			"bye host value /new/dir 0:65534 /root\n"},
		{"--env-file then -e", sh(`echo "$FROM_FILE|$GREETING"`, "--env-file", filepath.Join(dir, "vars.env"), "-e", "GREETING=flag"), "file value|flag\n"},
		{"--hostname", sh(`echo "$(hostname) $HOSTNAME"`, "--hostname", "box"), "box box\n"},
		{"--network none", sh(`cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '`, "--network", "none"), "lo\n"},
	}
	for _, c := range cases {
		if c.r.Code != 0 || c.r.Stdout != c.want {
			t.Errorf("%s: exit %d, stdout %q, want %q\nstderr: %s", c.name, c.r.Code, c.r.Stdout, c.want, c.r.Stderr)
		}
	}
	// The default host name is the container's id, in HOSTNAME too.
	r := sh(`[ "$(hostname)" = "$HOSTNAME" ] && echo "$HOSTNAME"`)
	if r.Code != 0 || len(strings.TrimSpace(r.Stdout)) != 12 {
		t.Errorf("default hostname: %q (exit %d)", r.Stdout, r.Code)
	}
	// --entrypoint "" clears the entrypoint and the image's CMD.
	r = g.Run(t, dir, "run", "--entrypoint", "", "cfg")
	if r.Code != 125 || !strings.Contains(r.Stderr, "no command specified") {
		t.Errorf("no command: exit %d, stderr %q", r.Code, r.Stderr)
	}
	checkNothingLeft(t, g)
}

// TestContainerRunLifecycle: exit codes, volumes, discarded changes and
// the errors of docker run, with nothing left mounted.
func TestContainerRunLifecycle(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	host := t.TempDir()
	testutil.WriteFiles(t, host, map[string]string{"ro/in.txt": "from host\n", "rw/.keep": ""})

	if r := g.Run(t, ".", "run", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"); r.Code != 3 || r.Stdout != "out\n" || r.Stderr != "err\n" {
		t.Errorf("exit code: %+v, want 3 with out/err", r)
	}
	r := g.Run(t, ".", "run", "-v", filepath.Join(host, "ro")+":/data:ro", "-v", filepath.Join(host, "rw")+":/out",
		"busybox", "sh", "-c", "cat /data/in.txt; touch /data/x 2>/dev/null && echo ro-writable; echo written > /out/new.txt")
	if r.Code != 0 || r.Stdout != "from host\n" {
		t.Errorf("volumes: %+v", r)
	}
	if b, err := os.ReadFile(filepath.Join(host, "rw", "new.txt")); err != nil || string(b) != "written\n" {
		t.Errorf("write to a rw volume: %q, %v", b, err)
	}
	// Changes to the container's own files are gone with it.
	g.Must(t, ".", "run", "busybox", "sh", "-c", "echo x > /marker && rm /bin/vi")
	if r := g.Run(t, ".", "run", "busybox", "sh", "-c", "ls /bin/vi; ls /marker"); r.Code != 1 || r.Stdout != "/bin/vi\n" || !strings.Contains(r.Stderr, "/marker: No such file") {
		t.Errorf("a container's changes survived it: %+v", r)
	}
	// Stdin is /dev/null without -i, gorae's with it.
	if r := g.RunStdin(t, ".", "typed\n", "run", "busybox", "cat"); r.Code != 0 || r.Stdout != "" {
		t.Errorf("stdin without -i: %+v", r)
	}
	if r := g.RunStdin(t, ".", "typed\n", "run", "-i", "busybox", "cat"); r.Code != 0 || r.Stdout != "typed\n" {
		t.Errorf("stdin with -i: %+v", r)
	}
	errs := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"127.0.0.1:1/nosuch"}, 125, "127.0.0.1:1/nosuch"},
		{[]string{"busybox", "nosuchcmd"}, 127, "nosuchcmd: executable file not found"},
		{[]string{"busybox", "/etc/passwd"}, 126, "exec /etc/passwd: permission denied"},
		{[]string{"-v", "rel/dir:/x", "busybox", "true"}, 125, "-v rel/dir:/x: \"rel/dir\" is not an absolute host path"},
		{[]string{"-v", "/nonexistent/dir:/x", "busybox", "true"}, 125, "host path /nonexistent/dir does not exist"},
		{[]string{"-v", "myvol:/x", "busybox", "true"}, 125, "named volumes are not supported"},
		{[]string{"-v", host + ":x", "busybox", "true"}, 125, "container path \"x\" must be absolute"},
		{[]string{"--network", "bridge", "busybox", "true"}, 125, "--network \"bridge\""},
		{[]string{"--nosuchflag", "busybox"}, 125, "unknown flag: --nosuchflag"},
		{nil, 125, "run needs an image"},
	}
	for _, e := range errs {
		r := g.Run(t, ".", append([]string{"run"}, e.args...)...)
		if r.Code != e.code || !strings.Contains(r.Stderr, e.msg) {
			t.Errorf("gorae run %s: exit %d, stderr %q; want %d and %q", strings.Join(e.args, " "), r.Code, r.Stderr, e.code, e.msg)
		}
	}
	checkNothingLeft(t, g)
}

// TestContainerTty: with -it on a terminal, the command gets a
// pseudo-terminal of the same size, gorae's terminal is raw while it
// runs and restored afterwards.
func TestContainerTty(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	term, err := runner.NewConsole() // the test plays the user's terminal
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	if err := term.Resize(27, 91); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(term.Slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(g.Bin, "run", "-it", "busybox", "sh", "-c", `tty; stty size; echo "$TERM"`)
	cmd.Env = append(os.Environ(), "GORAE_ROOT="+g.Root)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = term.Slave, term.Slave, term.Slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(term.Master)
		out <- string(b)
	}()
	runErr := cmd.Run()
	after, err := unix.IoctlGetTermios(int(term.Slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	term.Slave.Close()
	got := strings.ReplaceAll(<-out, "\r\n", "\n")
	if runErr != nil {
		t.Fatalf("gorae run -it: %v\n%s", runErr, got)
	}
	if got != "/dev/console\n27 91\nxterm\n" {
		t.Errorf("output %q, want the tty, its size 27 91 and TERM=xterm", got)
	}
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal mode not restored: lflag %#x → %#x", before.Lflag, after.Lflag)
	}
	checkNothingLeft(t, g)
}

// TestContainerSignals: gorae forwards SIGTERM to the command, whose trap
// decides the exit code; three Ctrl-Cs kill a command that ignores them.
func TestContainerSignals(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	start := func(script string) (*exec.Cmd, *bufio.Scanner, *strings.Builder) {
		cmd := exec.Command(g.Bin, "run", "busybox", "sh", "-c", script)
		cmd.Env = append(os.Environ(), "GORAE_ROOT="+g.Root)
		stderr := &strings.Builder{}
		cmd.Stderr = stderr
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(pipe)
		if !sc.Scan() || sc.Text() != "ready" {
			cmd.Process.Kill()
			t.Fatalf("first line %q, want ready", sc.Text())
		}
		return cmd, sc, stderr
	}
	loop := `echo ready; while :; do sleep 0.1; done`

	cmd, sc, stderr := start(`trap 'echo got TERM; exit 42' TERM; ` + loop)
	cmd.Process.Signal(syscall.SIGTERM)
	sc.Scan()
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 42 || sc.Text() != "got TERM" {
		t.Errorf("SIGTERM: %v, output %q, stderr %q; want exit 42 from the trap", err, sc.Text(), stderr)
	}

	// Signals sent back to back may merge into one, so keep sending
	// until gorae is gone.
	cmd, _, stderr = start(`trap '' INT; ` + loop)
	exited := make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-exited:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		cmd.Process.Kill()
	}()
	cmd.Wait()
	close(exited)
	if code := cmd.ProcessState.ExitCode(); code != 137 || !strings.Contains(stderr.String(), "got 3 interrupts: killing the container") {
		t.Errorf("3 × SIGINT: exit %d, stderr %q; want 137 and a message", code, stderr)
	}
	checkNothingLeft(t, g)
}

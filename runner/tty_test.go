package runner_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/runner"
)

// TestTty: with a Console the command has the pseudo-terminal as its
// controlling terminal (tty names it, stty reads its size), its output
// arrives on the master after the ONLCR line discipline, and input written
// to the master reaches it.
func TestTty(t *testing.T) {
	root := newRootfs(t)
	con, err := runner.NewConsole()
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	if err := con.Resize(33, 101); err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(con.Master) // ends with EIO once the slave is closed everywhere
		out <- string(b)
	}()
	// The line discipline echoes input; turn that off so the output is
	// only what the command wrote.
	tio, err := unix.IoctlGetTermios(int(con.Slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(int(con.Slave.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	script := `tty; stty size; [ -t 0 ] && echo stdin-tty; read line; echo "got $line"`
	if _, err := con.Master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	r := runner.Runner{Init: "/proc/self/exe"}
	err = r.Run(context.Background(), runner.Process{
		Rootfs: root, Args: []string{"sh", "-c", script}, Env: []string{"PATH=/bin"}, Tty: con.Slave,
	})
	con.Slave.Close()
	got := strings.ReplaceAll(<-out, "\r\n", "\n")
	if err != nil {
		t.Fatalf("run: %v; output %q", err, got)
	}
	lines := strings.Split(got, "\n")
	if len(lines) < 4 || lines[0] != "/dev/console" || lines[1] != "33 101" || lines[2] != "stdin-tty" {
		t.Errorf("output %q: want /dev/console, size 33 101, stdin a tty", got)
	}
	if !strings.Contains(got, "got hello\n") {
		t.Errorf("input written to the master did not reach the command: %q", got)
	}
}

// TestSignalsForwarded: a signal sent on Process.Signals reaches the
// command (PID 1 in its namespace), whose trap handles it.
func TestSignalsForwarded(t *testing.T) {
	root := newRootfs(t)
	pr, pw := io.Pipe()
	sigs := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		r := runner.Runner{Init: "/proc/self/exe"}
		err := r.Run(context.Background(), runner.Process{
			Rootfs: root, Env: []string{"PATH=/bin"}, Stdout: pw, Stderr: pw, Signals: sigs,
			Args: []string{"sh", "-c", `trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.1; done`},
		})
		pw.Close()
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("first line %q, want ready", sc.Text())
	}
	sigs <- syscall.SIGTERM
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	err := <-done
	var ee *runner.ExitError
	if !errors.As(err, &ee) || ee.Code != 7 {
		t.Errorf("err = %v, want exit code 7 from the trap", err)
	}
	if strings.Join(rest, "\n") != "got TERM" {
		t.Errorf("output after the signal %q, want got TERM", rest)
	}
}

// TestCommandErrors: a command that is missing is a CommandError with
// code 127, one that cannot be executed 126, as docker run and shells
// report them.
func TestCommandErrors(t *testing.T) {
	root := newRootfs(t)
	if err := os.WriteFile(filepath.Join(root, "bin/noexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		arg0 string
		code int
		msg  string
	}{
		{"nosuch", 127, "nosuch: executable file not found in PATH /bin"},
		{"/bin/nosuch", 127, "exec /bin/nosuch: no such file or directory"},
		{"/bin/noexec", 126, "exec /bin/noexec: permission denied"},
		{"/tmp", 126, "exec /tmp: permission denied"},
	}
	for _, c := range cases {
		res := run(t, runner.Process{Rootfs: root, Args: []string{c.arg0}})
		var ce *runner.CommandError
		if !errors.As(res.err, &ce) || ce.Code != c.code || !strings.Contains(ce.Error(), c.msg) {
			t.Errorf("%s: err = %#v, want CommandError %d %q", c.arg0, res.err, c.code, c.msg)
		}
	}
	// A sandbox setup failure is not a CommandError.
	res := run(t, runner.Process{Rootfs: root, Args: []string{"true"}, Cwd: "/nonexistent"})
	var ce *runner.CommandError
	if res.err == nil || errors.As(res.err, &ce) || !strings.Contains(res.err.Error(), "/nonexistent") {
		t.Errorf("bad cwd: err = %v", res.err)
	}
}

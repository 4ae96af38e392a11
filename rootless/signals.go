package rootless

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded are the signals the user's gorae passes to the re-executed
// one.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// forward passes sigs to p until done. Ctrl-C and Ctrl-\ on a terminal
// already reach the child (it is in the same foreground process group),
// so SIGINT and SIGQUIT are passed on only when gorae is not in the
// terminal's foreground: a `kill -INT` from a CI runner still arrives
// once, and a Ctrl-C never twice.
func forward(p *os.Process, sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s := <-sigs:
			if (s == syscall.SIGINT || s == syscall.SIGQUIT) && inForeground() {
				continue
			}
			p.Signal(s)
		}
	}
}

// inForeground reports whether this process's group is the foreground
// group of its controlling terminal.
func inForeground() bool {
	f, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	defer f.Close()
	pgrp, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

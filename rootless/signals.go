package rootless

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded are the signals the user's gorae passes to the re-executed
// one.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// The child runs in a process group of its own, so that a signal reaches
// it once, whoever sends it: the terminal's (Ctrl-C) go to it directly,
// as the terminal's foreground group while it runs (see foreground), and
// every signal the user's gorae gets, from kill or from its own process
// group, is passed on by forward.

// forward passes sigs to p until done.
func forward(p *os.Process, sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s := <-sigs:
			p.Signal(s)
		}
	}
}

// foreground returns the controlling terminal, open, when this process's
// group is its foreground group: the child's group takes its place while
// it runs. ok is false without a terminal or in the background.
func foreground() (tty *os.File, ok bool) {
	f, err := os.Open("/dev/tty")
	if err != nil {
		return nil, false
	}
	pgrp, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	if err != nil || pgrp != unix.Getpgrp() {
		f.Close()
		return nil, false
	}
	return f, true
}

// takeBack makes this process's group the terminal's foreground again
// once the child is gone. A background group asking for it would get
// SIGTTOU, which is ignored meanwhile.
func takeBack(tty *os.File) {
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	unix.IoctlSetPointerInt(int(tty.Fd()), unix.TIOCSPGRP, unix.Getpgrp())
}

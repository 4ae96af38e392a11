package runner

import "os"

// forwardSignals sends every signal arriving on sigs to p until stop is
// closed. Run starts it only once the command was exec'd: the sandbox
// init before it is a Go program that a SIGINT would end.
//
// The command is PID 1 of its PID namespace, so the kernel delivers only
// the signals it handles (a shell without a trap ignores SIGTERM, as in
// Docker); SIGKILL always works.
func forwardSignals(p *os.Process, sigs <-chan os.Signal, stop <-chan struct{}) {
	for {
		select {
		case s, ok := <-sigs:
			if !ok {
				return
			}
			// An error means the command is gone; Wait reports how.
			_ = p.Signal(s)
		case <-stop:
			return
		}
	}
}

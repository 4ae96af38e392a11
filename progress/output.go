package progress

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// Output returns a writer for a step's command output: in plain mode
// each line is printed as "  | line" under the step; in tty mode the last
// line shows under the running step (and if the step fails, its last
// lines stay on screen unless the error quotes them); in json mode each line is an event; in quiet mode
// it is dropped.
func (p *Printer) Output(step string) io.Writer {
	if p == nil || p.mode == "quiet" {
		return io.Discard
	}
	return &lineWriter{p: p, step: step}
}

type lineWriter struct {
	mu   sync.Mutex
	p    *Printer
	step string
	buf  bytes.Buffer
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line)
			return len(b), nil
		}
		l.emit(line[:len(line)-1])
	}
}

func (l *lineWriter) emit(line string) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	if l.p.keep(func() { l.emit(line) }) {
		return
	}
	switch {
	case l.p.tty != nil:
		l.p.tty.output(l.step, line)
	case l.p.mode == "plain" || l.p.mode == "tty":
		fmt.Fprintf(l.p.w, "  | %s\n", line)
	case l.p.mode == "json":
		l.p.writeJSON(map[string]any{"time": l.p.now().UTC().Format(time.RFC3339Nano), "step": l.step, "output": line})
	}
}

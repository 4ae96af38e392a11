package progress

import (
	"bytes"
	"io"
	"time"
)

// Output returns a writer for a step's command output: in plain mode
// each line is printed as "#N SECONDS line", N the step's number and
// SECONDS the time since it started; in tty mode the last line shows
// under the running step (and if the step fails, its last lines stay on
// screen unless the error quotes them); in json mode each line is an
// event; in quiet mode it is dropped. A last line without a newline is
// shown when the step ends.
func (p *Printer) Output(step string) io.Writer {
	if p == nil || p.mode == "quiet" {
		return io.Discard
	}
	if p.parent != nil {
		return p.parent.Output(p.rename(step))
	}
	return &lineWriter{p: p, step: step}
}

// maxLine bounds the output kept while waiting for a newline.
const maxLine = 32 << 10

type lineWriter struct {
	p    *Printer
	step string
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.p.write(l.step, bytes.Clone(b), time.Time{})
	return len(b), nil
}

// write adds output of step written at t (zero: now), showing each
// complete line; the rest waits for its newline or the step's end.
func (p *Printer) write(step string, b []byte, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.IsZero() {
		t = p.now()
	}
	if p.keep(func() { p.write(step, b, t) }) {
		return
	}
	if p.partial == nil {
		p.partial = map[string]partLine{}
	}
	part, ok := p.partial[step]
	if !ok {
		part.t = t
	}
	buf := append(part.b, b...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		p.output(step, string(buf[:i]), part.t)
		buf, part.t = buf[i+1:], t
	}
	if len(buf) >= maxLine { // no newline in sight: show what came
		p.output(step, string(buf), part.t)
		buf = nil
	}
	if len(buf) == 0 {
		delete(p.partial, step)
	} else {
		p.partial[step] = partLine{b: bytes.Clone(buf), t: part.t}
	}
}

// partLine is output after a step's last newline, and when it began:
// a line is shown with the time its first byte came, as BuildKit does.
type partLine struct {
	b []byte
	t time.Time
}

// endOutput shows the unfinished last line of step, when it ends; p.mu
// is held.
func (p *Printer) endOutput(step string) {
	if part, ok := p.partial[step]; ok {
		delete(p.partial, step)
		p.output(step, string(part.b), part.t)
	}
}

// output shows one line of a step's output, written at t; p.mu is held.
func (p *Printer) output(step, line string, t time.Time) {
	switch {
	case p.tty != nil:
		p.tty.output(step, line)
	case p.plain != nil:
		p.plain.outputLine(step, line, t)
		p.plainShow()
	case p.mode == "json":
		p.writeJSON(map[string]any{"time": t.UTC().Format(time.RFC3339Nano), "step": step, "output": line})
	}
}

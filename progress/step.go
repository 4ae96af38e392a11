package progress

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gorae/gorae/solver"
)

// Step is a step of a build that is not a solver vertex: loading the
// Dockerfile, resolving a base image, exporting the image or a cache.
// It shows as the vertices do: in plain mode a numbered block with its
// lines and a DONE or ERROR line, in tty mode a step line, in json mode
// started and done events. While it is open, finished transfers show
// in its block in plain mode (a pull under the image's step, pushes
// under the export).
type Step struct {
	p     *Printer
	name  string
	start time.Time
}

// Step starts a step named name; End ends it. A nil Printer gives a Step
// that shows nothing.
func (p *Printer) Step(name string) *Step {
	if p != nil && p.parent != nil {
		return p.parent.Step(p.rename(name))
	}
	s := &Step{p: p, name: name}
	if p == nil {
		return s
	}
	s.start = p.now()
	p.event(solver.Event{Vertex: name, Status: solver.Started, Time: s.start}, true)
	return s
}

// Logf shows a line about the step: in its block in plain mode, above
// the live block in tty mode, as a message of the step in json mode.
func (s *Step) Logf(format string, args ...any) {
	if s.p == nil {
		return
	}
	s.p.stepLine(s.name, fmt.Sprintf(format, args...))
}

// Lines shows several lines about the step at once: in plain mode in
// one block, even when the step has ended (its block is shown again, as
// BuildKit shows a vertex's late warnings).
func (s *Step) Lines(lines []string) {
	if s.p == nil || len(lines) == 0 {
		return
	}
	s.p.stepLines(s.name, lines)
}

// End ends the step: done when err is nil, failed otherwise.
func (s *Step) End(err error) {
	if s.p == nil {
		return
	}
	now := s.p.now()
	e := solver.Event{Vertex: s.name, Status: solver.Done, Time: now, Duration: now.Sub(s.start)}
	if err != nil {
		e.Status, e.Err = solver.Failed, err
	}
	s.p.event(e, true)
}

func (p *Printer) stepLine(step, msg string) {
	p.stepLines(step, []string{msg})
}

func (p *Printer) stepLines(step string, msgs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keep(func() { p.stepLines(step, msgs) }) {
		return
	}
	for _, msg := range msgs {
		switch {
		case p.tty != nil:
			p.tty.log(msg)
		case p.plain != nil:
			p.plain.statusLine(step, msg, p.now())
		case p.mode == "json":
			p.writeJSON(map[string]any{"time": p.now().UTC().Format(time.RFC3339Nano), "step": step, "message": msg})
		}
	}
	if p.plain != nil {
		p.plainShow()
	}
}

// host is the step a transfer's line belongs to in plain mode: the
// latest Step still open, or "".
func (d *plainDisplay) host() string {
	if n := len(d.hosts); n > 0 {
		return d.hosts[n-1]
	}
	return ""
}

// hostOf is the latest open Step of the target prefix (see
// Printer.Target; "" = of any target), "" if none.
func (d *plainDisplay) hostOf(prefix string) string {
	if prefix == "" {
		return d.host()
	}
	for i := len(d.hosts) - 1; i >= 0; i-- {
		if h := d.hosts[i]; strings.HasPrefix(h, "["+prefix+" ") || strings.HasPrefix(h, "["+prefix+"]") {
			return h
		}
	}
	return ""
}

// hostEvent keeps the list of open Steps up to date.
func (d *plainDisplay) hostEvent(e solver.Event) {
	d.hosts = slices.DeleteFunc(d.hosts, func(h string) bool { return h == e.Vertex })
	if e.Status == solver.Started {
		d.hosts = append(d.hosts, e.Vertex)
	}
}

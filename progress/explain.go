package progress

import (
	"strings"
	"time"
)

// Explain prints why a step was not served from the cache (gorae build
// --explain): in plain mode one "#N cache miss: LINE" line per reason in
// the step's block, in tty mode one "STEP — LINE" line per reason above
// the live block, in json mode one
// {"step": STEP, "changed": [...]} record (the "changed: " prefix of each
// line dropped), in quiet mode nothing.
func (p *Printer) Explain(step string, lines []string) {
	if p == nil || len(lines) == 0 {
		return
	}
	if p.parent != nil {
		p.parent.Explain(p.rename(step), lines)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keep(func() { p.Explain(step, lines) }) {
		return
	}
	switch {
	case p.tty != nil:
		for _, l := range lines {
			p.line(step + " — " + l)
		}
	case p.plain != nil:
		for _, l := range lines {
			p.plain.statusLine(step, "cache miss: "+l, p.now())
		}
		p.plainShow()
	case p.mode == "json":
		changed := make([]string, len(lines))
		for i, l := range lines {
			changed[i] = strings.TrimPrefix(l, "changed: ")
		}
		p.writeJSON(map[string]any{"time": p.now().UTC().Format(time.RFC3339Nano), "step": step, "changed": changed})
	}
}

package progress

import (
	"strings"
	"time"
)

// Target returns a Printer that shows everything of one target of `gorae
// bake` on p, its steps named as buildx bake names them: "[app base 2/3]
// RUN …" for "[base 2/3] RUN …", "[app internal] load metadata …", and
// "[app] exporting to image" for a step without brackets. Messages start
// with "[app] ". Closing it does nothing; close p.
func (p *Printer) Target(name string) *Printer {
	if p == nil {
		return nil
	}
	if p.parent != nil {
		p = p.parent
	}
	return &Printer{parent: p, prefix: name, mode: p.mode}
}

// rename is a step's name on the parent Printer.
func (p *Printer) rename(step string) string {
	if rest, ok := strings.CutPrefix(step, "["); ok {
		return "[" + p.prefix + " " + rest
	}
	return "[" + p.prefix + "] " + step
}

// targetLog prints a target's message as Logf does, but in plain mode in
// the block of that target's open Step, not another target's.
func (p *Printer) targetLog(prefix, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keep(func() { p.targetLog(prefix, msg) }) {
		return
	}
	switch p.mode {
	case "plain", "tty":
		host := ""
		if p.plain != nil {
			host = p.plain.hostOf(prefix)
		}
		p.lineIn(host, msg)
	case "json":
		p.writeJSON(map[string]any{"time": p.now().UTC().Format(time.RFC3339Nano), "message": msg})
	}
}

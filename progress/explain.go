package progress

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Explain prints why a step was not served from the cache (gorae build
// --explain): in plain mode one "STEP — LINE" line per reason, in json
// mode one {"step": STEP, "changed": [...]} record (the "changed: "
// prefix of each line dropped), in quiet mode nothing.
func (p *Printer) Explain(step string, lines []string) {
	if p == nil || len(lines) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mode {
	case "plain", "tty":
		for _, l := range lines {
			p.line(fmt.Sprintf("%s — %s", step, l))
		}
	case "json":
		changed := make([]string, len(lines))
		for i, l := range lines {
			changed[i] = strings.TrimPrefix(l, "changed: ")
		}
		b, _ := json.Marshal(map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "step": step, "changed": changed})
		fmt.Fprintf(p.w, "%s\n", b)
	}
}

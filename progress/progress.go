package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gorae/gorae/solver"
)

// Printer renders events and messages of one build. All methods are safe
// for concurrent use.
type Printer struct {
	mu   sync.Mutex
	w    io.Writer
	mode string
}

// Modes lists the accepted --progress values.
var Modes = []string{"auto", "plain", "tty", "json", "quiet"}

// New returns a printer writing to w in mode (auto and tty print plain
// lines for now).
func New(w io.Writer, mode string) (*Printer, error) {
	switch mode {
	case "", "auto", "tty", "plain":
		mode = "plain"
	case "json", "quiet":
	default:
		return nil, fmt.Errorf("invalid --progress %q (use %s)", mode, strings.Join(Modes, ", "))
	}
	return &Printer{w: w, mode: mode}, nil
}

// Quiet reports whether only the final image id should be printed.
func (p *Printer) Quiet() bool { return p.mode == "quiet" }

// Event renders one solver event. Steps without a name (internal
// vertices such as the build context) are not shown.
func (p *Printer) Event(e solver.Event) {
	if e.Vertex == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mode {
	case "plain":
		switch e.Status {
		case solver.Cached:
			fmt.Fprintf(p.w, "%s CACHED\n", e.Vertex)
		case solver.Done:
			fmt.Fprintf(p.w, "%s %s\n", e.Vertex, seconds(e.Duration))
		case solver.Failed:
			fmt.Fprintf(p.w, "%s ERROR after %s\n", e.Vertex, seconds(e.Duration))
		}
	case "json":
		rec := map[string]any{"time": e.Time.UTC().Format(time.RFC3339Nano), "step": e.Vertex, "status": e.Status.String()}
		if e.Duration > 0 {
			rec["seconds"] = e.Duration.Seconds()
		}
		if !e.Key.IsZero() {
			rec["key"] = e.Key.String()
		}
		if e.Err != nil {
			rec["error"] = e.Err.Error()
		}
		b, _ := json.Marshal(rec)
		fmt.Fprintf(p.w, "%s\n", b)
	}
}

// Logf prints an informational line (not in quiet mode).
func (p *Printer) Logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mode {
	case "plain":
		fmt.Fprintf(p.w, format+"\n", args...)
	case "json":
		b, _ := json.Marshal(map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "message": fmt.Sprintf(format, args...)})
		fmt.Fprintf(p.w, "%s\n", b)
	}
}

// Warnf prints a warning, in every mode but quiet.
func (p *Printer) Warnf(format string, args ...any) {
	p.Logf("WARNING: "+format, args...)
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

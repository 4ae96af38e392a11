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
// for concurrent use. In tty mode a goroutine owned by the Printer redraws
// the live block; in plain mode a timer shows lines of parallel steps that
// wait their turn (see plain.go). Close stops both and prints the final
// state, so every Printer that reported steps must be closed (Close is a
// no-op in json and quiet mode).
type Printer struct {
	mu        sync.Mutex
	w         io.Writer
	mode      string // plain, tty, json or quiet; never auto
	now       func() time.Time
	transfers transfers
	tty       *display      // tty mode until Close; nil afterwards and in other modes
	plain     *plainDisplay // plain mode, and tty mode after Close
	tick      *time.Timer   // shows waiting plain lines; nil when none wait
	tickEvery time.Duration // how soon tick fires; 0 (tests) arms none

	stop, done chan struct{} // of the redraw goroutine; nil when none runs
	closeOnce  sync.Once

	closed  bool                // Close was called
	partial map[string]partLine // output of a step after its last newline
	held    []func()            // calls kept while holding (see Hold), to replay
	holding bool
	dropped bool // Drop was called: Close prints nothing

	// parent and prefix make a target's view of a shared Printer (see
	// Target): every call goes to parent, step names renamed.
	parent *Printer
	prefix string
}

// Modes lists the accepted --progress values.
var Modes = []string{"auto", "plain", "tty", "json", "quiet"}

// redrawEvery bounds the redraw rate of the live display.
const redrawEvery = 100 * time.Millisecond

// New returns a printer writing to w in mode. auto means tty when w is a
// terminal (an *os.File) and TERM is not dumb, plain otherwise. In tty
// mode it starts the redraw goroutine: call Close when the build ends.
func New(w io.Writer, mode string) (*Printer, error) {
	switch mode {
	case "", "auto":
		mode = "plain"
		if wantTTY(w) {
			mode = "tty"
		}
	case "tty", "plain", "json", "quiet":
	default:
		return nil, fmt.Errorf("invalid --progress %q (use %s)", mode, strings.Join(Modes, ", "))
	}
	return newPrinter(w, mode, sizeOf(w), time.Now), nil
}

// newPrinter is New with the terminal size and the clock supplied, so
// tests can render a fixed width at a fixed time.
func newPrinter(w io.Writer, mode string, size func() (cols, rows int), now func() time.Time) *Printer {
	p := &Printer{w: w, mode: mode, now: now, tickEvery: plainTick}
	if mode == "plain" || mode == "tty" {
		p.plain = newPlainDisplay(w)
	}
	if mode == "tty" {
		p.tty = newDisplay(size, now())
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.redrawLoop()
	}
	return p
}

// Close stops the live display and prints its final state: the steps
// still running, the transfers not finished, and the header with the
// total time; in plain mode, the lines of steps not shown yet. Later
// calls print plain lines. Close may be called more than once and on a
// nil Printer.
func (p *Printer) Close() error {
	if p == nil || p.parent != nil {
		return nil
	}
	p.closeOnce.Do(func() {
		if p.stop == nil {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.closed = true
			if p.tick != nil {
				p.tick.Stop()
				p.tick = nil
			}
			if p.plain != nil && !p.dropped && !p.holding {
				p.plain.flush(p.now())
			}
			return
		}
		close(p.stop)
		<-p.done
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.dropped {
			p.w.Write(p.tty.frame(p.now(), &p.transfers, true))
		}
		p.tty, p.closed = nil, true
	})
	return nil
}

func (p *Printer) redrawLoop() {
	defer close(p.done)
	t := time.NewTicker(redrawEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.redraw()
		}
	}
}

// redraw brings the live display up to date.
func (p *Printer) redraw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty != nil && !p.holding && !p.dropped {
		p.w.Write(p.tty.frame(p.now(), &p.transfers, false))
	}
}

// Hold keeps everything the Printer is asked to show from now on, to be
// shown by Release or forgotten by Drop: a rootless gorae first tries a
// build outside its user namespace and shows it only if it needs nothing
// more (see cmd/gorae).
func (p *Printer) Hold() {
	if p.parent != nil {
		p.parent.Hold()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holding = true
}

// Release shows what was held, in order, and ends the hold.
func (p *Printer) Release() {
	if p.parent != nil {
		p.parent.Release()
		return
	}
	p.mu.Lock()
	calls := p.held
	p.held, p.holding = nil, false
	p.mu.Unlock()
	for _, c := range calls {
		c()
	}
}

// Drop forgets what was held; the Printer shows nothing more, not even
// on Close.
func (p *Printer) Drop() {
	if p.parent != nil {
		p.parent.Drop()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held, p.dropped = nil, true
}

// keep records call while holding and reports whether it did; p.mu is
// held. After Drop everything is kept, to be forgotten.
func (p *Printer) keep(call func()) bool {
	if p.dropped {
		return true
	}
	if p.holding {
		p.held = append(p.held, call)
	}
	return p.holding
}

// Quiet reports whether only the final image id should be printed.
func (p *Printer) Quiet() bool { return p.mode == "quiet" }

// Plain reports whether the display is the plain one (BuildKit's
// numbered step blocks).
func (p *Printer) Plain() bool { return p.mode == "plain" }

// JSON reports whether the display writes JSON lines.
func (p *Printer) JSON() bool { return p.mode == "json" }

// Event renders one solver event: in plain mode it opens, ends or
// continues the step's numbered block (see plain.go). Steps without a
// name (internal vertices) are not shown.
func (p *Printer) Event(e solver.Event) {
	if p.parent != nil {
		e.Vertex = p.rename(e.Vertex)
		p.parent.Event(e)
		return
	}
	p.event(e, false)
}

// event renders e; step says it is about a Step, not a vertex.
func (p *Printer) event(e solver.Event, step bool) {
	if e.Vertex == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = p.now()
	}
	if p.keep(func() { p.event(e, step) }) {
		return
	}
	if step && p.plain != nil {
		p.plain.hostEvent(e)
	}
	if e.Status != solver.Started && e.Status != solver.Waiting {
		p.endOutput(e.Vertex)
	}
	switch {
	case p.tty != nil:
		p.tty.event(e)
	case p.plain != nil:
		p.plainEvent(e)
	case p.mode == "json":
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
		p.writeJSON(rec)
	}
}

// Logf prints an informational line (not in quiet mode). In tty mode it
// appears above the live block at the next redraw.
func (p *Printer) Logf(format string, args ...any) {
	if p.parent != nil {
		p.parent.logIn(p.prefix, fmt.Sprintf("[%s] %s", p.prefix, fmt.Sprintf(format, args...)))
		return
	}
	p.logIn("", fmt.Sprintf(format, args...))
}

// logIn prints Logf's msg; in plain mode in the block of the latest open
// Step of the target prefix (see Target; "" = of any target).
func (p *Printer) logIn(prefix, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keep(func() { p.logIn(prefix, msg) }) {
		return
	}
	switch p.mode {
	case "plain", "tty":
		p.lineIn(p.plain.hostOf(prefix), msg)
	case "json":
		p.writeJSON(map[string]any{"time": p.now().UTC().Format(time.RFC3339Nano), "message": msg})
	}
}

// Warnf prints a warning, in every mode but quiet.
func (p *Printer) Warnf(format string, args ...any) {
	p.Logf("WARNING: "+format, args...)
}

// line prints a message line in plain or tty mode: above the live block
// while it is shown; in plain mode in the block of the open Step if there
// is one (a pull's messages under its image), between step blocks
// otherwise; p.mu is held.
func (p *Printer) line(msg string) {
	p.lineIn(p.plain.host(), msg)
}

// lineIn prints a message line as line does, in plain mode in host's
// block ("" = between blocks); p.mu is held.
func (p *Printer) lineIn(host, msg string) {
	switch {
	case p.tty != nil:
		p.tty.log(msg)
	case host != "":
		p.plain.statusLine(host, msg, p.now())
		p.plainShow()
	default:
		p.plain.message(msg)
	}
}

// writeJSON prints one JSON line; p.mu is held.
func (p *Printer) writeJSON(rec map[string]any) {
	b, _ := json.Marshal(rec)
	fmt.Fprintf(p.w, "%s\n", b)
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

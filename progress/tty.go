package progress

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/gorae/gorae/solver"
)

// ANSI sequences of the live display. Only the block under the permanent
// lines is ever redrawn: the cursor goes back up over it, everything below
// is cleared, new permanent lines are printed, then the block again.
const (
	clearDown = "\x1b[J"
	dim       = "\x1b[2m"
	red       = "\x1b[31m"
	reset     = "\x1b[0m"
)

// failTail is how many output lines of a failed step stay on screen.
const failTail = 10

// display is the state of the tty mode; the Printer's mutex guards it.
type display struct {
	size    func() (cols, rows int)
	start   time.Time
	running []*step // in the order they started
	seen    int     // named steps started or cached
	settled int     // of which done or cached
	failed  bool
	pending []string // permanent lines not yet printed
	onTerm  int      // lines of the live block on screen now
	drawn   bool     // whether anything was drawn yet
}

// step is a running step, or one waiting for another build that runs
// the same step (then it shows "waiting" until it is cached or starts).
type step struct {
	name    string
	start   time.Time
	tail    []string // last output lines, the newest last
	waiting bool
}

func newDisplay(size func() (int, int), start time.Time) *display {
	return &display{size: size, start: start}
}

func (d *display) find(name string) (int, *step) {
	for i, s := range d.running {
		if s.name == name {
			return i, s
		}
	}
	return -1, nil
}

func (d *display) event(e solver.Event) {
	i, s := d.find(e.Vertex)
	if s != nil && e.Status != solver.Started && e.Status != solver.Waiting {
		d.running = append(d.running[:i], d.running[i+1:]...)
	}
	if s == nil {
		d.seen++
	}
	start := e.Time
	if start.IsZero() {
		start = d.start
	}
	switch e.Status {
	case solver.Waiting:
		if s == nil {
			d.running = append(d.running, &step{name: e.Vertex, start: start, waiting: true})
		}
	case solver.Started:
		if s == nil {
			d.running = append(d.running, &step{name: e.Vertex, start: start})
		} else if s.waiting { // the other build saved nothing: run it here
			s.waiting, s.start = false, start
		}
	case solver.Cached:
		d.settled++
		d.stepLine(e.Vertex, "CACHED", "")
	case solver.Done:
		d.settled++
		d.stepLine(e.Vertex, seconds(e.Duration), "")
	case solver.Failed:
		d.failed = true
		d.stepLine(e.Vertex, "ERROR "+seconds(e.Duration), red)
		if s != nil && !quotesTail(e.Err, s.tail) {
			for _, l := range s.tail {
				d.pending = append(d.pending, dim+" > "+l+reset)
			}
		}
	}
}

// quotesTail reports whether err already quotes the last output line of
// tail (a RUN that exits non-zero quotes its last lines, one per
// indented line of the message). The error is printed right after the
// display, so its step's tail would otherwise show twice.
func quotesTail(err error, tail []string) bool {
	last := ""
	for i := len(tail) - 1; i >= 0 && last == ""; i-- {
		last = strings.TrimSpace(tail[i])
	}
	if err == nil || last == "" {
		return false
	}
	lines := strings.Split(err.Error(), "\n")
	for _, l := range lines[1:] {
		if strings.TrimSpace(clean(l)) == last {
			return true
		}
	}
	return false
}

// stepLine queues the permanent line of a finished step, its status
// right-aligned, truncated to the width like every step line.
func (d *display) stepLine(name, status, color string) {
	cols, _ := d.size()
	line := fit(" => "+name, status, cols)
	if color != "" {
		line = color + line + reset
	}
	d.pending = append(d.pending, line)
}

func (d *display) output(name, line string) {
	_, s := d.find(name)
	if s == nil {
		return // output after its step ended: only plain mode shows it
	}
	s.tail = append(s.tail, clean(line))
	if len(s.tail) > failTail {
		s.tail = s.tail[len(s.tail)-failTail:]
	}
}

// log queues a message above the live block. Messages are not truncated:
// a wrapped permanent line is never redrawn, so it cannot garble.
func (d *display) log(msg string) {
	d.pending = append(d.pending, strings.Split(msg, "\n")...)
}

func (d *display) permanent(line string) {
	cols, _ := d.size()
	d.pending = append(d.pending, truncate(line, cols))
}

// frame returns the bytes that bring the screen up to date: back over the
// previous live block, the new permanent lines, the new block. The final
// frame (Close) marks the header FINISHED or FAILED.
func (d *display) frame(now time.Time, ts *transfers, final bool) []byte {
	if !d.drawn && len(d.pending) == 0 && len(d.running) == 0 && len(ts.order) == 0 {
		return nil // nothing happened yet (or ever: a usage error), so no header
	}
	d.drawn = true
	var b bytes.Buffer
	if d.onTerm > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA", d.onTerm)
	}
	b.WriteString(clearDown)
	for _, l := range d.pending {
		b.WriteString(l)
		b.WriteString("\n")
	}
	d.pending = d.pending[:0]
	block := d.block(now, ts, final)
	for _, l := range block {
		b.WriteString(l)
		b.WriteString("\n")
	}
	d.onTerm = len(block)
	return b.Bytes()
}

// block is the live part: header, running steps with their last output
// line, transfers; never taller than the terminal, so that cursor-up
// always reaches its first line.
func (d *display) block(now time.Time, ts *transfers, final bool) []string {
	cols, rows := d.size()
	header := fmt.Sprintf("[+] Building %s (%d/%d)", seconds(now.Sub(d.start)), d.settled, d.seen)
	if final {
		if d.failed {
			header += " FAILED"
		} else {
			header += " FINISHED"
		}
	}
	lines := []string{truncate(header, cols)}
	for _, s := range d.running {
		status := seconds(now.Sub(s.start))
		if s.waiting {
			status = "waiting for another build " + status
		}
		lines = append(lines, fit(" => "+s.name, status, cols))
		if n := len(s.tail); n > 0 && s.tail[n-1] != "" {
			lines = append(lines, dim+truncate("    "+s.tail[n-1], cols)+reset)
		}
	}
	for _, t := range ts.order {
		lines = append(lines, transferLine(t, cols))
	}
	if max := rows - 1; max > 1 && len(lines) > max {
		more := len(lines) - max + 1
		lines = append(lines[:max-1], truncate(fmt.Sprintf(" … %d more lines", more), cols))
	}
	return lines
}

// barWidth is the width of a transfer's bar, brackets included.
const barWidth = 22

// transferLine shows a transfer under way: label, bar and bytes; bytes
// only when the size is unknown.
func transferLine(t *transfer, cols int) string {
	if t.total <= 0 {
		return fit(" => "+t.label, bytesText(t.done), cols)
	}
	frac := float64(t.done) / float64(t.total)
	frac = min(max(frac, 0), 1)
	inner := barWidth - 2
	full := int(frac * float64(inner))
	bar := strings.Repeat("=", full)
	if full < inner {
		bar += ">" + strings.Repeat(" ", inner-full-1)
	}
	right := fmt.Sprintf("[%s] %s / %s", bar, bytesText(t.done), bytesText(t.total))
	return fit(" => "+t.label, right, cols)
}

// fit puts right at the right edge of a cols-wide line after left,
// truncating left (never right, unless the line is narrower than right).
func fit(left, right string, cols int) string {
	l, r := len([]rune(left)), len([]rune(right))
	switch {
	case l+1+r <= cols:
		return left + strings.Repeat(" ", cols-l-r) + right
	case r+2 <= cols:
		return truncate(left, cols-r-1) + " " + right
	}
	return truncate(left+" "+right, cols)
}

// truncate cuts s to cols runes, marking the cut with an ellipsis.
func truncate(s string, cols int) string {
	r := []rune(s)
	if len(r) <= cols {
		return s
	}
	if cols < 1 {
		return ""
	}
	return string(r[:cols-1]) + "…"
}

// clean makes a command's output line safe to draw in one row: only what
// follows the last carriage return (a progress meter's final state), no
// escape sequences, tabs as spaces, no other control characters.
func clean(line string) string {
	if i := strings.LastIndexByte(strings.TrimRight(line, "\r"), '\r'); i >= 0 {
		line = line[i+1:]
	}
	var b strings.Builder
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '\x1b':
			i = skipEscape(rs, i)
		case c == '\t':
			b.WriteString("    ")
		case c < ' ' || c == 0x7f || (c >= 0x80 && c < 0xa0):
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// skipEscape returns the index of the last rune of the escape sequence
// starting at rs[i]: CSI (ESC [ … final byte), OSC (ESC ] … BEL or ST) or
// a two-rune escape.
func skipEscape(rs []rune, i int) int {
	if i+1 >= len(rs) {
		return i
	}
	switch rs[i+1] {
	case '[':
		for j := i + 2; j < len(rs); j++ {
			if rs[j] >= 0x40 && rs[j] <= 0x7e {
				return j
			}
		}
		return len(rs) - 1
	case ']':
		for j := i + 2; j < len(rs); j++ {
			if rs[j] == '\a' {
				return j
			}
			if rs[j] == '\x1b' && j+1 < len(rs) && rs[j+1] == '\\' {
				return j + 1
			}
		}
		return len(rs) - 1
	}
	return i + 1
}

package progress

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// The plain display follows BuildKit's (progressui's textMux): a step is
// numbered "#N" when it is first shown, in that order; its header
// "#N NAME" opens a block of lines that each carry the number; output
// lines read "#N SECONDS LINE", the time since the step started; the
// block ends with "#N DONE 1.2s", "#N CACHED", "#N ERROR: MESSAGE" or
// "#N CANCELED". One step is current at a time; the lines of the others
// wait until the display switches to them (never longer than maxDelay),
// and leaving a step that is still open prints "#N ...". Blocks are
// separated by a blank line, so `grep '^#5 '` gives one step.
const (
	antiFlicker = 5 * time.Second  // how long a step keeps the display against a busier one
	maxDelay    = 10 * time.Second // the longest a step's lines wait to be shown
	plainTick   = 150 * time.Millisecond
)

// plainStep is one step of the plain display.
type plainStep struct {
	name     string
	index    int       // 0 until first shown
	start    time.Time // of its latest start (or wait): the origin of its output times
	started  bool
	waits    bool      // for another build running the same step
	lines    []string  // to show, without the "#N " prefix
	end      string    // DONE 1.2s, CACHED, ERROR: …, CANCELED; "" while open
	ended    time.Time // when end was set
	endShown bool
	updated  bool      // has something to show: lines, a header or its end
	count    int       // updates since it was last left (BuildKit's speed)
	block    time.Time // when that run of updates began
}

func (s *plainStep) open() bool { return s.started && s.end == "" }

// update records that s has something new to show at now.
func (s *plainStep) update(now time.Time) {
	if s.count == 0 {
		s.block = now
	}
	s.count++
	s.updated = true
}

// plainDisplay is the state of the plain mode; the Printer's mutex
// guards it.
type plainDisplay struct {
	w        io.Writer
	byName   map[string]*plainStep
	order    []*plainStep // in order of first report
	current  *plainStep   // the step whose block is open on screen; nil between blocks
	next     int          // the last number given
	notFirst bool         // anything was printed: blocks after it start with a blank line
	afterMsg bool         // the last thing printed was a message line
	hosts    []string     // open Steps, the latest last (see host)
}

func newPlainDisplay(w io.Writer) *plainDisplay {
	return &plainDisplay{w: w, byName: map[string]*plainStep{}}
}

func (d *plainDisplay) step(name string, now time.Time) *plainStep {
	s := d.byName[name]
	if s == nil {
		s = &plainStep{name: name, start: now}
		d.byName[name] = s
		d.order = append(d.order, s)
	}
	return s
}

// begin marks s started at t: its output times count from t. A step
// shown as ended and started again (a later report under the same name)
// opens a new block.
func (s *plainStep) begin(t time.Time) {
	s.start, s.started = t, true
	s.end, s.endShown = "", false
}

// finish sets the end line of s.
func (s *plainStep) finish(end string, t time.Time) {
	s.started = true
	s.end, s.ended, s.endShown = end, t, false
}

// outputLine adds a line of command output written at t.
func (d *plainDisplay) outputLine(name, line string, t time.Time) {
	s := d.step(name, t)
	if !s.started {
		s.begin(t)
	}
	s.lines = append(s.lines, elapsed(t.Sub(s.start))+" "+line)
	s.update(t)
}

// statusLine adds a line about the step itself (a transfer, a name
// given, why it missed the cache).
func (d *plainDisplay) statusLine(name, line string, t time.Time) {
	s := d.step(name, t)
	if !s.started {
		s.begin(t)
	}
	if s.end != "" && s.endShown {
		// A line about a step already ended (a build check's warning
		// on the Dockerfile's step): as BuildKit, its block is shown
		// again and ends as it did.
		s.endShown, s.ended = false, t
	}
	s.lines = append(s.lines, line)
	s.update(t)
}

// elapsed formats the time since a step started as BuildKit does: three
// decimals under 10s, two under 100s, one above.
func elapsed(d time.Duration) string {
	sec := max(d.Seconds(), 0)
	prec := 1
	switch {
	case sec < 10:
		prec = 3
	case sec < 100:
		prec = 2
	}
	return fmt.Sprintf("%.*f", prec, sec)
}

// message prints a line that belongs to no step (a warning, the final
// summary), set off from step blocks by a blank line. An open step
// left for it is marked "#N ..." and its header is shown again when its
// lines resume.
func (d *plainDisplay) message(msg string) {
	d.leave()
	if d.notFirst && !d.afterMsg {
		fmt.Fprintln(d.w)
	}
	fmt.Fprintln(d.w, msg)
	d.notFirst, d.afterMsg = true, true
}

// leave closes the block of the current step, which is still open.
func (d *plainDisplay) leave() {
	if d.current == nil {
		return
	}
	fmt.Fprintf(d.w, "#%d ...\n", d.current.index)
	d.current.count = 0
	d.current = nil
}

// show prints what s has to show, opening its block first if another
// block is on screen (BuildKit's printVtx).
func (d *plainDisplay) show(s *plainStep) {
	if s.index == 0 {
		d.next++
		s.index = d.next
	}
	if s != d.current {
		d.leave()
		if d.notFirst {
			fmt.Fprintln(d.w)
		}
		d.notFirst = true
		fmt.Fprintf(d.w, "#%d %s\n", s.index, s.name)
	}
	d.afterMsg = false
	for _, l := range s.lines {
		fmt.Fprintf(d.w, "#%d %s\n", s.index, l)
	}
	s.lines = s.lines[:0]
	s.updated = false
	d.current = s
	if s.end != "" {
		d.current, s.count = nil, 0
		if !s.endShown {
			s.endShown = true
			fmt.Fprintf(d.w, "#%d %s\n", s.index, s.end)
		}
	}
}

// print shows what is due at now, as BuildKit's textMux.print decides:
// ended steps first, in the order they ended; then the current step;
// then it switches to another step when the current one ended, when
// another's lines waited maxDelay, or when the current one has had the
// display longer than its share of the output allows.
//
// When nothing is due and no block is open, an idle print (the timer's,
// a moment after the last report; BuildKit's ticker) shows the header of
// a step still running again, so the log says what the build waits for.
func (d *plainDisplay) print(now time.Time, idle bool) {
	var ended, rest []*plainStep
	for _, s := range d.order {
		switch {
		case !s.updated:
		case s.end != "":
			ended = append(ended, s)
		default:
			rest = append(rest, s)
		}
	}
	cur := d.current
	if cur != nil && cur.updated && cur.end != "" {
		d.show(cur)
	}
	slices.SortStableFunc(ended, func(a, b *plainStep) int { return a.ended.Compare(b.ended) })
	for _, s := range ended {
		if s.updated {
			d.show(s)
		}
	}
	if len(rest) == 0 {
		if d.current != nil || !idle {
			return
		}
		for _, s := range d.order { // make an open step current again
			if s.open() {
				d.show(s)
				return
			}
		}
		return
	}
	if cur != nil && cur.updated {
		d.show(cur)
	}
	type stat struct {
		blockTime    time.Duration
		speed, share float64
		overLimit    bool
	}
	stats := map[*plainStep]*stat{}
	cand := slices.Clone(rest)
	if cur != nil && cur.end == "" && !slices.Contains(cand, cur) {
		cand = append(cand, cur)
	}
	sum := 0.0
	var best *plainStep
	for _, s := range cand {
		tm := now.Sub(s.block)
		st := &stat{blockTime: tm, overLimit: tm > maxDelay && s != cur}
		if tm > 0 {
			st.speed = float64(s.count) / tm.Seconds()
		}
		stats[s] = st
		sum += st.speed
		if st.overLimit || best == nil || stats[best].speed < st.speed {
			best = s
		}
	}
	for _, st := range stats {
		st.share = st.speed / sum
	}
	if cur == nil || cur.end != "" || d.current == nil {
		d.show(best)
		return
	}
	for _, s := range rest {
		if stats[s].overLimit {
			d.show(s)
			return
		}
	}
	share := stats[cur].share
	if math.IsNaN(share) {
		return
	}
	if 1/(1-share)*antiFlicker.Seconds() < stats[cur].blockTime.Seconds() {
		d.show(best)
	}
}

// pending reports whether some step has lines waiting to be shown, or
// runs while no block is open.
func (d *plainDisplay) pending() bool {
	for _, s := range d.order {
		if s.updated || (d.current == nil && s.open()) {
			return true
		}
	}
	return false
}

// flush shows everything still waiting, when the build ends: ended
// steps in the order they ended, then the others in order.
func (d *plainDisplay) flush(now time.Time) {
	d.print(now, false)
	for _, s := range d.order {
		if s.updated {
			d.show(s)
		}
	}
}

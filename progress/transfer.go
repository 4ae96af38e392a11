package progress

import (
	"fmt"
	"time"
)

// jsonEvery is how often json mode reports a transfer still under way.
const jsonEvery = time.Second

// transfer is one pull, push, cache import/export or large layer write.
type transfer struct {
	id, label   string
	done, total int64
	first       int64 // done at the first call: the rate counts what moved since
	start       time.Time
	reported    time.Time // last json event; zero before the first
}

// transfers are the transfers under way, in the order they started.
type transfers struct {
	byID  map[string]*transfer
	order []*transfer
}

func (ts *transfers) get(id string, now time.Time) (t *transfer, isNew bool) {
	if t := ts.byID[id]; t != nil {
		return t, false
	}
	if ts.byID == nil {
		ts.byID = map[string]*transfer{}
	}
	t = &transfer{id: id, start: now}
	ts.byID[id] = t
	ts.order = append(ts.order, t)
	return t, true
}

func (ts *transfers) remove(id string) {
	delete(ts.byID, id)
	for i, t := range ts.order {
		if t.id == id {
			ts.order = append(ts.order[:i], ts.order[i+1:]...)
			return
		}
	}
}

// Transfer reports that done of total bytes of the transfer id (a pull,
// push, cache import or export, or a large layer write) have moved; label
// says what it is, e.g. "pushing layer sha256:abcd…", and may change
// between calls. total <= 0 means the size is unknown (only the bytes so
// far are shown). A transfer finishes when done >= total > 0, so a
// transfer of unknown size ends with a call whose total is done. done < 0
// drops the transfer unfinished (it failed or was abandoned). An id may be
// used again once its transfer has finished.
//
// tty mode shows a progress bar per transfer and, once finished, a line
// with its size, the time since its first report and the rate over that
// time; plain mode prints only that line, in the block of the open Step
// if there is one (see Step);
// json mode prints an event about once a second per transfer and a final
// one.
func (p *Printer) Transfer(id, label string, done, total int64) {
	if p == nil || p.mode == "quiet" {
		return
	}
	if p.parent != nil {
		p.parent.Transfer(p.prefix+" "+id, label, done, total)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keep(func() { p.Transfer(id, label, done, total) }) {
		return
	}
	if done < 0 {
		p.transfers.remove(id)
		return
	}
	now := p.now()
	t, isNew := p.transfers.get(id, now)
	if isNew {
		t.first = done
	}
	t.label, t.done, t.total = label, done, total
	finished := total > 0 && done >= total
	if finished {
		p.transfers.remove(id)
	}
	switch {
	case p.tty != nil:
		if finished {
			p.tty.permanent(" => " + t.summary(now))
		}
	case p.plain != nil:
		if !finished {
			break
		}
		if h := p.plain.host(); h != "" {
			p.plain.statusLine(h, t.summary(now), now)
			p.plainShow()
		} else {
			p.plain.message(t.summary(now))
		}
	case p.mode == "json":
		if finished || t.reported.IsZero() || now.Sub(t.reported) >= jsonEvery {
			t.reported = now
			p.writeJSON(t.record(now, finished))
		}
	}
}

// summary is the line of a finished transfer: label, size, time since
// the first report, and the rate over that time.
func (t *transfer) summary(now time.Time) string {
	d := now.Sub(t.start)
	s := fmt.Sprintf("%s %s %s", t.label, bytesText(t.done), seconds(d))
	if moved := t.done - t.first; d > 0 && moved > 0 {
		s += " " + bytesText(int64(float64(moved)/d.Seconds())) + "/s"
	}
	return s
}

func (t *transfer) record(now time.Time, finished bool) map[string]any {
	rec := map[string]any{
		"time": now.UTC().Format(time.RFC3339Nano), "transfer": t.id, "label": t.label,
		"bytes": t.done, "status": "running",
	}
	if t.total > 0 {
		rec["total"] = t.total
	}
	if finished {
		rec["status"] = "done"
		rec["seconds"] = now.Sub(t.start).Seconds()
	}
	return rec
}

// bytesText formats n in decimal units as docker does: 512 B, 3.1 MB,
// 120 MB.
func bytesText(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	i := -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	u := [...]string{"kB", "MB", "GB", "TB", "PB"}[i]
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, u)
	}
	return fmt.Sprintf("%.0f %s", v, u)
}

package progress

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorae/gorae/solver"
)

// TestTTYWaitingStep: a step waiting for another build shows as waiting
// in the live block, then ends as CACHED, or starts its own clock when
// the other build left nothing to load.
func TestTTYWaitingStep(t *testing.T) {
	const cols = 60
	p, buf, c := newTTY(cols, 24)
	p.Event(ev(c, "[2/3] RUN sleep 2", solver.Waiting, 0))
	p.Event(ev(c, "[3/3] RUN make", solver.Waiting, 0))
	c.add(1500 * time.Millisecond)
	got := current(t, p, buf, cols)
	want := []string{
		"[+] Building 1.5s (0/2)",
		fit(" => [2/3] RUN sleep 2", "waiting for another build 1.5s", cols),
		fit(" => [3/3] RUN make", "waiting for another build 1.5s", cols),
	}
	if !slices.Equal(got, want) {
		t.Errorf("screen while waiting:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	p.Event(ev(c, "[2/3] RUN sleep 2", solver.Cached, 0))
	p.Event(ev(c, "[3/3] RUN make", solver.Started, 0))
	c.add(time.Second)
	got = current(t, p, buf, cols)
	want = []string{
		fit(" => [2/3] RUN sleep 2", "CACHED", cols),
		"[+] Building 2.5s (1/2)",
		fit(" => [3/3] RUN make", "1.0s", cols),
	}
	if !slices.Equal(got, want) {
		t.Errorf("screen after the wait:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p.Close()
}

func TestPlainAndJSONWaiting(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	p := newPrinter(&buf, "plain", nil, c.now)
	p.Event(ev(c, "[2/3] RUN sleep 2", solver.Waiting, 0))
	p.Event(ev(c, "[2/3] RUN sleep 2", solver.Cached, 0))
	want := "#1 [2/3] RUN sleep 2\n#1 WAITING for another build running the same step\n#1 CACHED\n"
	if buf.String() != want {
		t.Errorf("plain:\n%q\nwant\n%q", buf.String(), want)
	}

	buf.Reset()
	p = newPrinter(&buf, "json", nil, c.now)
	p.Event(ev(c, "[2/3] RUN sleep 2", solver.Waiting, 0))
	var rec struct{ Step, Status string }
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec.Step != "[2/3] RUN sleep 2" || rec.Status != "waiting" {
		t.Errorf("json %q (%v), want status waiting", buf.String(), err)
	}
}

package progress

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorae/gorae/solver"
)

// syncBuffer lets the test read what the redraw goroutine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTTY(cols, rows int) (*Printer, *syncBuffer, *clock) {
	var buf syncBuffer
	c := newClock()
	p := newPrinter(&buf, "tty", func() (int, int) { return cols, rows }, c.now)
	return p, &buf, c
}

func ev(c *clock, name string, st solver.Status, d time.Duration) solver.Event {
	return solver.Event{Vertex: name, Status: st, Duration: d, Time: c.now()}
}

// current renders what the terminal shows now, after a redraw.
func current(t *testing.T, p *Printer, buf *syncBuffer, cols int) []string {
	t.Helper()
	p.redraw()
	s := render(t, cols, buf.String())
	if len(s.wrapped) > 0 {
		t.Errorf("lines wrapped at width %d: %q", cols, s.wrapped)
	}
	return s.text()
}

func TestTTYFinalScreen(t *testing.T) {
	const cols = 48
	p, buf, c := newTTY(cols, 24)
	p.Logf("pulling docker.io/library/alpine:3.20")
	p.Event(ev(c, "[1/3] FROM docker.io/library/alpine:3.20@sha256:0123456789abcdef", solver.Cached, 0))
	p.Event(ev(c, "[2/3] COPY . /src", solver.Started, 0))
	p.Event(ev(c, "[3/3] RUN make", solver.Started, 0))
	out := p.Output("[3/3] RUN make")
	fmt.Fprintf(out, "cc -c main.c\ncc -o app main.o with a very long list of flags -O2 -Wall -Wextra\n")
	c.add(1200 * time.Millisecond)

	mid := current(t, p, buf, cols)
	want := []string{
		"pulling docker.io/library/alpine:3.20",
		fit(" => [1/3] FROM docker.io/library/alpine:3.20@sha256:0123456789abcdef", "CACHED", cols),
		"[+] Building 1.2s (1/3)",
		" => [2/3] COPY . /src                       1.2s",
		" => [3/3] RUN make                          1.2s",
		truncate("    cc -o app main.o with a very long list of flags -O2 -Wall -Wextra", cols),
	}
	if !slices.Equal(mid, want) {
		t.Errorf("screen while running:\n%s\nwant:\n%s", strings.Join(mid, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(buf.String(), dim+"    cc -o app") {
		t.Errorf("the last output line is not dimmed: %q", buf.String())
	}

	p.Event(ev(c, "[2/3] COPY . /src", solver.Done, 1200*time.Millisecond))
	p.Warnf("Dockerfile:3: JSON arguments recommended for CMD")
	c.add(2 * time.Second)
	p.Event(ev(c, "[3/3] RUN make", solver.Done, 3200*time.Millisecond))
	p.Close()

	// A warning is printed whole: it may wrap, since lines above the live
	// block are never redrawn; nothing else wraps.
	s := render(t, cols, buf.String())
	if want := []string{"WARNING: Dockerfile:3: JSON arguments recommende"}; !slices.Equal(s.wrapped, want) {
		t.Errorf("wrapped rows %q, want only %q", s.wrapped, want)
	}
	got := s.text()
	want = []string{
		"pulling docker.io/library/alpine:3.20",
		fit(" => [1/3] FROM docker.io/library/alpine:3.20@sha256:0123456789abcdef", "CACHED", cols),
		" => [2/3] COPY . /src                       1.2s",
		"WARNING: Dockerfile:3: JSON arguments recommende",
		"d for CMD",
		" => [3/3] RUN make                          3.2s",
		"[+] Building 3.2s (3/3) FINISHED",
	}
	if !slices.Equal(got, want) {
		t.Errorf("final screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if l := got[1]; len([]rune(l)) != cols || !strings.HasSuffix(l, "… CACHED") {
		t.Errorf("long step line %q is not truncated to %d columns before CACHED", l, cols)
	}
}

func TestTTYFailureKeepsOutputTail(t *testing.T) {
	const cols = 60
	p, buf, c := newTTY(cols, 24)
	p.Event(ev(c, "[2/2] RUN ./configure", solver.Started, 0))
	out := p.Output("[2/2] RUN ./configure")
	for i := range 15 {
		fmt.Fprintf(out, "checking feature %d... yes\n", i)
	}
	fmt.Fprintf(out, "\x1b[31mconfigure: error: no C compiler\x1b[0m\n")
	c.add(500 * time.Millisecond)
	current(t, p, buf, cols)
	p.Event(solver.Event{Vertex: "[2/2] RUN ./configure", Status: solver.Failed, Duration: 500 * time.Millisecond, Err: errors.New("exit status 1"), Time: c.now()})
	p.Close()

	got := render(t, cols, buf.String()).text()
	if got[0] != fit(" => [2/2] RUN ./configure", "ERROR 0.5s", cols) {
		t.Errorf("first line %q, want the failed step with ERROR and its duration", got[0])
	}
	tail := got[1 : len(got)-1]
	if len(tail) != failTail || tail[0] != " > checking feature 6... yes" || tail[len(tail)-1] != " > configure: error: no C compiler" {
		t.Errorf("output tail after failure:\n%s", strings.Join(tail, "\n"))
	}
	if last := got[len(got)-1]; last != "[+] Building 0.5s (0/1) FAILED" {
		t.Errorf("header %q, want FAILED", last)
	}
}

func TestTTYTransferBar(t *testing.T) {
	const cols = 70
	p, buf, c := newTTY(cols, 24)
	defer p.Close()
	label := "pulling layer sha256:4abcd1234567"
	p.Transfer("l1", label, 10e6, 40e6)
	first := current(t, p, buf, cols)
	c.add(2 * time.Second)
	p.Transfer("l1", label, 30e6, 40e6)
	second := current(t, p, buf, cols)
	wantFirst := fit(" => "+label, "[=====>              ] 10 MB / 40 MB", cols)
	wantSecond := fit(" => "+label, "[===============>    ] 30 MB / 40 MB", cols)
	if first[len(first)-1] != wantFirst || second[len(second)-1] != wantSecond {
		t.Errorf("bar did not move as expected:\n%q\n%q\nwant\n%q\n%q", first[len(first)-1], second[len(second)-1], wantFirst, wantSecond)
	}
	p.Transfer("blob", "downloading context", 1500, 0)
	if got := current(t, p, buf, cols); got[len(got)-1] != fit(" => downloading context", "1.5 kB", cols) {
		t.Errorf("unknown-size transfer shows %q, want bytes only", got[len(got)-1])
	}
	p.Transfer("blob", "downloading context", -1, 0) // abandoned
	c.add(2 * time.Second)
	p.Transfer("l1", "pulled layer sha256:4abcd1234567", 40e6, 40e6)
	got := current(t, p, buf, cols)
	// 30 MB moved in the 4 s since the first report (which was at 10 MB).
	want := []string{" => pulled layer sha256:4abcd1234567 40 MB 4.0s 7.5 MB/s", "[+] Building 4.0s (0/0)"}
	if !slices.Equal(got, want) {
		t.Errorf("after the transfer finished:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTTYBlockNeverTallerThanTerminal(t *testing.T) {
	const cols, rows = 40, 6
	p, buf, c := newTTY(cols, rows)
	defer p.Close()
	for i := range 10 {
		p.Event(ev(c, fmt.Sprintf("[%d/10] RUN job %d", i+1, i), solver.Started, 0))
	}
	got := current(t, p, buf, cols)
	if len(got) != rows-1 || got[len(got)-1] != " … 7 more lines" {
		t.Errorf("live block of 11 lines on a %d-row terminal:\n%s", rows, strings.Join(got, "\n"))
	}
}

func TestTTYCloseStopsGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	p, _, _ := newTTY(80, 24)
	if runtime.NumGoroutine() <= before {
		t.Fatalf("tty mode started no redraw goroutine")
	}
	p.Close()
	p.Close()
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > before; i++ {
		time.Sleep(10 * time.Millisecond) // the goroutine may still be returning
		n = runtime.NumGoroutine()
	}
	if n > before {
		t.Errorf("%d goroutines after Close, %d before New", n, before)
	}
}

func TestTTYAfterClosePrintsPlain(t *testing.T) {
	p, buf, c := newTTY(80, 24)
	p.Close()
	n := len(buf.String())
	p.Logf("late message")
	p.Event(ev(c, "[1/1] RUN true", solver.Done, time.Second))
	if got := buf.String()[n:]; got != "late message\n\n#1 [1/1] RUN true\n#1 DONE 1.0s\n" {
		t.Errorf("after Close got %q, want plain lines", got)
	}
}

func TestAutoIsPlainWithoutTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, out := range []any{w, &bytes.Buffer{}} {
		p, err := New(out.(interface{ Write([]byte) (int, error) }), "auto")
		if err != nil {
			t.Fatal(err)
		}
		if p.mode != "plain" || p.tty != nil {
			t.Errorf("auto on %T chose %s", out, p.mode)
		}
		p.Close()
	}
	if _, err := New(w, "fancy"); err == nil || !strings.Contains(err.Error(), "auto, plain, tty, json, quiet") {
		t.Errorf("New with a bad mode: %v", err)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                           "plain",
		"10%\r50%\r100%":                  "100%",
		"done\r":                          "done",
		"\x1b[1;32mgreen\x1b[0m text":     "green text",
		"a\tb":                            "a    b",
		"bell\a and \x1b]0;title\a after": "bell and  after",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTTYNothingDrawnWithoutEvents(t *testing.T) {
	p, buf, _ := newTTY(80, 24)
	p.redraw()
	p.Close()
	if buf.String() != "" {
		t.Errorf("a printer closed before any event drew %q", buf.String())
	}
}

package progress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorae/gorae/solver"
)

// newPlain is a plain Printer on a test clock, without its timer: the
// tests call plainTick themselves.
func newPlain(c *clock) (*Printer, *bytes.Buffer) {
	var buf bytes.Buffer
	p := newPrinter(&buf, "plain", nil, c.now)
	p.tickEvery = 0
	return p, &buf
}

func write(p *Printer, step, s string) {
	fmt.Fprint(p.Output(step), s)
}

// TestPlainStepBlocks: steps are numbered in the order they are shown;
// each block is its header, its output with the time since it started
// (the time its first byte came), and DONE with the duration, CACHED,
// ERROR with the first line of the error, or CANCELED; blocks are set
// off by blank lines; a last line without a newline shows at the end.
func TestPlainStepBlocks(t *testing.T) {
	c := newClock()
	p, buf := newPlain(c)
	p.Event(ev(c, "[internal] load build context", solver.Started, 0))
	c.add(300 * time.Millisecond)
	p.Event(ev(c, "[internal] load build context", solver.Done, 300*time.Millisecond))
	p.Event(ev(c, "[1/4] FROM x", solver.Cached, 0))
	p.Event(ev(c, "[2/4] RUN make", solver.Started, 0))
	c.add(301 * time.Millisecond)
	write(p, "[2/4] RUN make", "compiling...\nlink")
	c.add(1200 * time.Millisecond)
	write(p, "[2/4] RUN make", "ing\n")
	c.add(11 * time.Second)
	write(p, "[2/4] RUN make", "slow\r\n")
	c.add(100 * time.Second)
	write(p, "[2/4] RUN make", "very slow\nno newline")
	p.Event(ev(c, "[2/4] RUN make", solver.Done, 112601*time.Millisecond))
	p.Event(ev(c, "[3/4] RUN false", solver.Started, 0))
	c.add(50 * time.Millisecond)
	write(p, "[3/4] RUN false", "oops\n")
	p.Event(solver.Event{Vertex: "[3/4] RUN false", Status: solver.Failed, Duration: 60 * time.Millisecond, Time: c.now(),
		Err: errors.New("process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n    oops")})
	p.Event(ev(c, "[4/4] RUN sleep 9", solver.Started, 0))
	p.Event(solver.Event{Vertex: "[4/4] RUN sleep 9", Status: solver.Failed, Time: c.now(),
		Err: &solver.VertexError{Vertex: "[3/4] RUN false", Err: errors.New("exit code: 1")}})
	p.Close()
	want := `#1 [internal] load build context
#1 DONE 0.3s

#2 [1/4] FROM x
#2 CACHED

#3 [2/4] RUN make
#3 0.301 compiling...
#3 0.301 linking
#3 12.50 slow` + "\r" + `
#3 112.5 very slow
#3 112.5 no newline
#3 DONE 112.6s

#4 [3/4] RUN false
#4 0.050 oops
#4 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1

#5 [4/4] RUN sleep 9
#5 CANCELED
`
	if buf.String() != want {
		t.Errorf("plain:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestPlainInterruptedIsCanceled(t *testing.T) {
	c := newClock()
	p, buf := newPlain(c)
	p.Event(ev(c, "[1/1] RUN sleep 9", solver.Started, 0))
	p.Event(solver.Event{Vertex: "[1/1] RUN sleep 9", Status: solver.Failed, Time: c.now(), Err: fmt.Errorf("run: %w", context.Canceled)})
	if want := "#1 [1/1] RUN sleep 9\n#1 CANCELED\n"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

// TestPlainParallelSteps: while one step has the display, another's
// lines wait (with the times they came) and show under its header when
// the first ends; a step left open is marked "#N ..." and its header
// is shown again when it resumes.
func TestPlainParallelSteps(t *testing.T) {
	c := newClock()
	p, buf := newPlain(c)
	a, b := "[a 2/2] RUN build-a", "[b 2/2] RUN build-b"
	p.Event(ev(c, a, solver.Started, 0))
	p.Event(ev(c, b, solver.Started, 0))
	for i := 1; i <= 2; i++ {
		c.add(100 * time.Millisecond)
		write(p, a, fmt.Sprintf("a%d\n", i))
		write(p, b, fmt.Sprintf("b%d\n", i))
	}
	c.add(100 * time.Millisecond)
	p.Event(ev(c, b, solver.Done, 300*time.Millisecond))
	c.add(100 * time.Millisecond)
	write(p, a, "a3\n")
	p.Event(ev(c, a, solver.Done, 400*time.Millisecond))
	want := `#1 [a 2/2] RUN build-a
#1 0.100 a1
#1 0.200 a2
#1 ...

#2 [b 2/2] RUN build-b
#2 0.100 b1
#2 0.200 b2
#2 DONE 0.3s

#1 [a 2/2] RUN build-a
#1 0.400 a3
#1 DONE 0.4s
`
	if buf.String() != want {
		t.Errorf("plain:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// TestPlainSwitchesAfterAntiFlicker: a quiet current step keeps the
// display against a busier one for antiFlicker stretched by its share of
// the updates (BuildKit's fair split: here 1/3, so 7.5s); then the
// timer's print switches to the step whose lines wait.
func TestPlainSwitchesAfterAntiFlicker(t *testing.T) {
	c := newClock()
	p, buf := newPlain(c)
	a, b := "[a 2/2] RUN quiet", "[b 2/2] RUN chatty"
	p.Event(ev(c, a, solver.Started, 0))
	p.Event(ev(c, b, solver.Started, 0))
	write(p, b, "b1\n")
	c.add(7 * time.Second)
	p.plainTick()
	if strings.Contains(buf.String(), "b1") {
		t.Fatalf("switched before its time:\n%s", buf.String())
	}
	c.add(time.Second)
	p.plainTick()
	want := "#1 [a 2/2] RUN quiet\n#1 ...\n\n#2 [b 2/2] RUN chatty\n#2 0.000 b1\n"
	if buf.String() != want {
		t.Fatalf("after 8s:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// TestPlainMaxDelay: a step whose lines waited maxDelay gets the display
// even from a busier one.
func TestPlainMaxDelay(t *testing.T) {
	c := newClock()
	p, buf := newPlain(c)
	a, b := "[a 2/2] RUN busy", "[b 2/2] RUN other"
	p.Event(ev(c, a, solver.Started, 0))
	p.Event(ev(c, b, solver.Started, 0))
	write(p, b, "b1\n")
	for range 10 {
		c.add(time.Second)
		write(p, a, "more a\n")
	}
	if strings.Contains(buf.String(), "b1") {
		t.Fatalf("b's line shown before maxDelay:\n%s", buf.String())
	}
	c.add(time.Second)
	write(p, a, "last a\n")
	if !strings.HasSuffix(buf.String(), "#1 11.00 last a\n#1 ...\n\n#2 [b 2/2] RUN other\n#2 0.000 b1\n") {
		t.Errorf("b's line not shown after maxDelay:\n%s", buf.String())
	}
}

// TestPlainIdleShowsRunningStep: when no block is open and nothing else
// happens, the timer shows the header of the step still running.
func TestPlainIdleShowsRunningStep(t *testing.T) {
	c := newClock()
	p, buf := newPlain(c)
	p.Event(ev(c, "[a 2/2] RUN sleep 60", solver.Started, 0))
	p.Event(ev(c, "[b 2/2] COPY x /", solver.Cached, 0))
	before := buf.String()
	p.plainTick()
	if got := strings.TrimPrefix(buf.String(), before); got != "\n#1 [a 2/2] RUN sleep 60\n" {
		t.Errorf("idle tick printed %q after\n%s", got, before)
	}
	p.plainTick()
	if got := strings.TrimPrefix(buf.String(), before); got != "\n#1 [a 2/2] RUN sleep 60\n" {
		t.Errorf("a second idle tick printed more: %q", got)
	}
}

// TestPlainStepsAndMessages: Steps show as numbered blocks holding their
// lines and the transfers finished while they are open; messages outside
// any Step stand between blocks.
func TestPlainStepsAndMessages(t *testing.T) {
	c := newClock()
	p, buf := newPlain(c)
	st := p.Step("[internal] load metadata for docker.io/library/x:1")
	p.Logf("pulling %s", "docker.io/library/x:1")
	p.Transfer("pull a", "pulling layer sha256:aaa", 0, 2000)
	c.add(2 * time.Second)
	p.Transfer("pull a", "pulled layer sha256:aaa", 2000, 2000)
	st.End(nil)
	p.Warnf("Dockerfile:3: something")
	p.Transfer("pull b", "pulled layer sha256:bbb", 10, 10)
	exp := p.Step("exporting to image")
	c.add(time.Second)
	exp.End(errors.New("push x: denied\nlogin first"))
	p.Logf("built sha256:abc in 3.0s")
	want := `#1 [internal] load metadata for docker.io/library/x:1
#1 pulling docker.io/library/x:1
#1 pulled layer sha256:aaa 2.0 kB 2.0s 1.0 kB/s
#1 DONE 2.0s

WARNING: Dockerfile:3: something
pulled layer sha256:bbb 10 B 0.0s

#2 exporting to image
#2 ERROR: push x: denied

built sha256:abc in 3.0s
`
	if buf.String() != want {
		t.Errorf("plain:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// TestPlainLinesAfterEnd: lines about a step that has ended (the build
// checks' warnings on the Dockerfile's step) show in one block: its
// header again, the lines, and its end again, as BuildKit shows a
// vertex's late warnings.
func TestPlainLinesAfterEnd(t *testing.T) {
	c := newClock()
	p, buf := newPlain(c)
	def := p.Step("[internal] load build definition from Dockerfile")
	def.Logf("transferring dockerfile: 40B done")
	def.End(nil)
	meta := p.Step("[internal] load metadata for docker.io/library/x:1")
	c.add(time.Second)
	meta.End(nil)
	def.Lines([]string{"WARN: FromAsCasing: a (line 1)", "WARN: LegacyKeyValueFormat: b (line 2)"})
	want := `#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 40B done
#1 DONE 0.0s

#2 [internal] load metadata for docker.io/library/x:1
#2 DONE 1.0s

#1 [internal] load build definition from Dockerfile
#1 WARN: FromAsCasing: a (line 1)
#1 WARN: LegacyKeyValueFormat: b (line 2)
#1 DONE 0.0s
`
	if buf.String() != want {
		t.Errorf("plain:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestPlainElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0.000", 301 * time.Millisecond: "0.301", 9999 * time.Millisecond: "9.999",
		12500 * time.Millisecond: "12.50", 150 * time.Second: "150.0", -time.Second: "0.000",
	} {
		if got := elapsed(d); got != want {
			t.Errorf("elapsed(%v) = %q, want %q", d, got, want)
		}
	}
}

var plainLine = regexp.MustCompile(`^#(\d+) (.*)$`)

// TestPlainGrepOneStep: however the lines of parallel steps come, the
// lines of each step carry its number: grepping it gives its header
// first, its output in order, each line once, and its end line last.
func TestPlainGrepOneStep(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		c := newClock()
		p, buf := newPlain(c)
		names := []string{"[a 2/2] RUN a", "[b 2/2] RUN b", "[c 2/2] RUN c"}
		left := map[string]int{}
		for _, n := range names {
			p.Event(ev(c, n, solver.Started, 0))
			left[n] = 20
		}
		sent := map[string][]string{}
		for len(left) > 0 {
			n := names[rng.IntN(len(names))]
			if _, ok := left[n]; !ok {
				continue
			}
			c.add(time.Duration(rng.IntN(3000)) * time.Millisecond)
			switch {
			case left[n] == 0:
				p.Event(ev(c, n, solver.Done, time.Second))
				delete(left, n)
			case rng.IntN(10) == 0:
				p.plainTick()
			default:
				line := fmt.Sprintf("%s line %d", n[1:2], 20-left[n])
				sent[n] = append(sent[n], line)
				write(p, n, line+"\n")
				left[n]--
			}
		}
		p.Close()
		byNum := map[string][]string{}
		for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
			if l == "" {
				continue
			}
			m := plainLine.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("seed %d: line %q has no step number:\n%s", seed, l, buf.String())
			}
			byNum[m[1]] = append(byNum[m[1]], m[2])
		}
		for num, lines := range byNum {
			name := lines[0]
			if !slices.Contains(names, name) {
				t.Fatalf("seed %d: #%s starts with %q, not a header", seed, num, name)
			}
			var out []string
			for i, l := range lines {
				switch {
				case l == name || l == "...":
				case l == "DONE 1.0s":
					if i != len(lines)-1 {
						t.Errorf("seed %d: #%s: DONE is not last", seed, num)
					}
				default:
					_, text, _ := strings.Cut(l, " ")
					out = append(out, text)
				}
			}
			if !slices.Equal(out, sent[name]) {
				t.Errorf("seed %d: #%s output %q, want %q", seed, num, out, sent[name])
			}
		}
		if len(byNum) != len(names) {
			t.Errorf("seed %d: %d step numbers, want %d", seed, len(byNum), len(names))
		}
	}
}

// TestStepOtherModes: a Step is a step line in tty mode and started and
// done events (its lines as messages of the step) in json mode.
func TestStepOtherModes(t *testing.T) {
	c := newClock()
	var js bytes.Buffer
	p := newPrinter(&js, "json", nil, c.now)
	st := p.Step("exporting to image")
	st.Logf("naming to %s done", "x")
	c.add(time.Second)
	st.End(nil)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		var rec struct{ Step, Status, Message string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("json %q: %v", l, err)
		}
		got = append(got, rec.Step+"|"+rec.Status+"|"+rec.Message)
	}
	want := []string{"exporting to image|started|", "exporting to image||naming to x done", "exporting to image|done|"}
	if !slices.Equal(got, want) {
		t.Errorf("json: %q, want %q", got, want)
	}

	const cols = 50
	q, buf, c2 := newTTY(cols, 24)
	st = q.Step("exporting to image")
	c2.add(2 * time.Second)
	st.End(nil)
	q.Close()
	s := render(t, cols, buf.String())
	if !slices.Contains(s.text(), fit(" => exporting to image", "2.0s", cols)) {
		t.Errorf("tty screen has no step line:\n%s", strings.Join(s.text(), "\n"))
	}
}

type shortError struct{}

func (shortError) Error() string   { return "RUN x: exit code 2; last lines of its output:\n    out" }
func (shortError) Summary() string { return "RUN x: exit code 2" }

// TestPlainErrorSummary: an error that can say itself in one line (a
// RUN's, whose output the block showed) ends the block with that line.
func TestPlainErrorSummary(t *testing.T) {
	c := newClock()
	p, buf := newPlain(c)
	p.Event(ev(c, "[1/1] RUN x", solver.Started, 0))
	p.Event(solver.Event{Vertex: "[1/1] RUN x", Status: solver.Failed, Time: c.now(), Err: fmt.Errorf("wrapped: %w", shortError{})})
	if want := "#1 [1/1] RUN x\n#1 ERROR: RUN x: exit code 2\n"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

package progress

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorae/gorae/solver"
)

// TestTTYFailureOutputShownOnce: when the error quotes the step's last
// output lines (as a RUN's exit error does, printed right after the
// display), the display does not repeat them: the screen shows the
// ERROR line and the header, and the lines appear once, in the error.
func TestTTYFailureOutputShownOnce(t *testing.T) {
	const cols = 60
	p, buf, c := newTTY(cols, 24)
	name := "[2/2] RUN ./configure"
	p.Event(ev(c, name, solver.Started, 0))
	out := p.Output(name)
	fmt.Fprintf(out, "checking feature 1... yes\n")
	fmt.Fprintf(out, "\x1b[31mconfigure: error: no C compiler\x1b[0m\n")
	c.add(500 * time.Millisecond)
	current(t, p, buf, cols)
	err := errors.New("Dockerfile:2: RUN ./configure: exit status 1; last lines of its output:\n    checking feature 1... yes\n    \x1b[31mconfigure: error: no C compiler\x1b[0m")
	p.Event(solver.Event{Vertex: name, Status: solver.Failed, Duration: 500 * time.Millisecond, Err: err, Time: c.now()})
	p.Close()

	got := render(t, cols, buf.String()).text()
	want := []string{fit(" => "+name, "ERROR 0.5s", cols), "[+] Building 0.5s (0/1) FAILED"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestQuotesTail(t *testing.T) {
	tail := []string{"building", "error: 1", ""}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{errors.New("RUN x: exit status 1; last lines of its output:\n    building\n    error: 1"), true},
		{errors.New("RUN x: exit status 1"), false},
		{errors.New("error: 1"), false}, // the first line is the message, not output
		{nil, false},
	} {
		if got := quotesTail(tc.err, tail); got != tc.want {
			t.Errorf("quotesTail(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

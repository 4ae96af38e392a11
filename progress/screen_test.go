package progress

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// screen is a tiny terminal: it applies what the tty display writes
// (text, \r, \n, cursor up, clear to end of screen, clear line, colours)
// to rows of text, wrapping at the right edge as a terminal does and
// recording the rows that wrapped.
type screen struct {
	cols     int
	rows     []string
	row, col int
	wrapped  []string
}

func render(t *testing.T, cols int, out string) *screen {
	t.Helper()
	s := &screen{cols: cols, rows: []string{""}}
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '\n':
			s.row++
			s.col = 0
			for len(s.rows) <= s.row {
				s.rows = append(s.rows, "")
			}
		case '\r':
			s.col = 0
		case '\x1b':
			if i+1 >= len(rs) || rs[i+1] != '[' {
				t.Fatalf("unexpected escape at %d in %q", i, out)
			}
			j := i + 2
			for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || rs[j] == ';') {
				j++
			}
			if j >= len(rs) {
				t.Fatalf("unterminated escape in %q", out)
			}
			arg := string(rs[i+2 : j])
			switch rs[j] {
			case 'A':
				n, _ := strconv.Atoi(arg)
				s.row = max(s.row-max(n, 1), 0)
			case 'J':
				s.rows[s.row] = cut(s.rows[s.row], s.col)
				s.rows = s.rows[:s.row+1]
			case 'K':
				s.rows[s.row] = ""
			case 'm':
			default:
				t.Fatalf("unexpected escape %q", string(rs[i:j+1]))
			}
			i = j
		default:
			if s.col >= s.cols { // auto-wrap, as a terminal does
				s.wrapped = append(s.wrapped, s.rows[s.row])
				s.row++
				s.col = 0
				for len(s.rows) <= s.row {
					s.rows = append(s.rows, "")
				}
			}
			line := []rune(s.rows[s.row])
			for len(line) <= s.col {
				line = append(line, ' ')
			}
			line[s.col] = c
			s.rows[s.row] = string(line)
			s.col++
		}
	}
	return s
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// text is the screen as lines, trailing spaces and the empty last row
// (where the cursor waits) removed.
func (s *screen) text() []string {
	var out []string
	for _, r := range s.rows {
		out = append(out, strings.TrimRight(r, " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// clock is a settable time for the display, safe to read from the
// redraw goroutine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

package ops

import (
	"bytes"
	"io"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/snapshot"
)

// tailWriter keeps the last n lines written to it, for error messages.
type tailWriter struct {
	mu    sync.Mutex
	n     int
	lines []string
	part  bytes.Buffer
}

func newTailWriter(n int) *tailWriter { return &tailWriter{n: n} }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range p {
		if b == '\n' {
			t.push(t.part.String())
			t.part.Reset()
			continue
		}
		if t.part.Len() < 4096 {
			t.part.WriteByte(b)
		}
	}
	return len(p), nil
}

func (t *tailWriter) push(line string) {
	t.lines = append(t.lines, line)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

// String returns the kept lines, indented.
func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if t.part.Len() > 0 {
		lines = append(lines, t.part.String())
	}
	if len(lines) == 0 {
		return "    (no output)"
	}
	return "    " + strings.Join(lines, "\n    ")
}

func multi(ws ...io.Writer) io.Writer { return io.MultiWriter(ws...) }

// output is where a step's command output goes (the progress display).
func (e *Env) output(step string) io.Writer {
	if e.Output == nil {
		return io.Discard
	}
	return e.Output(step)
}

func chainIDs(layers []Layer) []v1.Hash {
	diffIDs := make([]v1.Hash, len(layers))
	for i, l := range layers {
		diffIDs[i] = l.DiffID
	}
	return snapshot.ChainIDs(diffIDs)
}

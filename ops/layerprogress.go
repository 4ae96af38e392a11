package ops

import (
	"fmt"
	"io"
)

// bigLayer is the uncompressed size from which writing a layer is shown
// as a transfer: smaller layers take too little time to be worth a line.
const bigLayer = 32 << 20

// layerMeter counts the uncompressed bytes of a layer on their way to the
// compressor and, once past bigLayer, reports them through Env.Transfer.
type layerMeter struct {
	report func(id, label string, done, total int64)
	w      io.Writer
	id     string
	n      int64
}

// meter returns a layerMeter whose through writer passes bytes to w.
func (e *Env) meter() *layerMeter {
	m := &layerMeter{report: e.Transfer}
	m.id = fmt.Sprintf("layer %p", m)
	return m
}

// through returns w wrapped so that what passes is counted.
func (m *layerMeter) through(w io.Writer) io.Writer {
	m.w = w
	return m
}

func (m *layerMeter) Write(p []byte) (int, error) {
	n, err := m.w.Write(p)
	m.n += int64(n)
	if m.report != nil && m.n >= bigLayer {
		m.report(m.id, "writing layer", m.n, 0)
	}
	return n, err
}

// finish ends the transfer, if one was shown: with the layer's digest and
// size when it was stored, dropped when the write failed.
func (m *layerMeter) finish(l Layer, err error) {
	if m.report == nil || m.n < bigLayer {
		return
	}
	if err != nil {
		m.report(m.id, "", -1, 0)
		return
	}
	label := "wrote layer"
	if len(l.Digest.Hex) > 12 {
		label += " " + l.Digest.Algorithm + ":" + l.Digest.Hex[:12]
	}
	m.report(m.id, label, m.n, m.n)
}

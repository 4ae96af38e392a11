package graph

import (
	"encoding/binary"
	"sort"
)

// Encoder builds the canonical, length-prefixed binary form of an op.
// Every field is written with its length so that no two different ops can
// encode to the same bytes (no joined strings).
type Encoder struct{ buf []byte }

// Bytes returns the encoded bytes.
func (e *Encoder) Bytes() []byte { return e.buf }

// Uvarint appends an unsigned integer.
func (e *Encoder) Uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }

// String appends a length-prefixed string.
func (e *Encoder) String(s string) {
	e.Uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// Bool appends a boolean.
func (e *Encoder) Bool(b bool) {
	if b {
		e.Uvarint(1)
	} else {
		e.Uvarint(0)
	}
}

// Strings appends a length-prefixed list of strings, order preserved.
func (e *Encoder) Strings(ss []string) {
	e.Uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.String(s)
	}
}

// Map appends a string map in sorted key order.
func (e *Encoder) Map(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.Uvarint(uint64(len(keys)))
	for _, k := range keys {
		e.String(k)
		e.String(m[k])
	}
}

package ops

import (
	"crypto/sha256"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/solver"
)

// opKey is the op's own part of a cache key: its canonical encoding
// followed by extra length-prefixed components (content digests read from
// outside the graph). The solver adds the keys of the inputs.
func opKey(op graph.Op, extra ...string) solver.Key {
	var e graph.Encoder
	e.String("gorae/op/v1")
	e.String(op.Kind())
	op.Encode(&e)
	e.Strings(extra)
	return solver.Key(sha256.Sum256(e.Bytes()))
}

package ops

import (
	"context"
	"errors"

	"github.com/gorae/gorae/solver"
)

// ErrNeedsNamespace is a step that must execute in a build that runs
// outside gorae's user namespace (Env.Outside): the build has to run
// again inside it.
var ErrNeedsNamespace = errors.New("a step must execute in gorae's user namespace")

// inside returns op, or with Env.Outside an op with the same key that
// refuses to execute: its layers would be made from files that only the
// user namespace can read and own.
func (e *Env) inside(op solver.Op[*State]) solver.Op[*State] {
	if !e.Outside {
		return op
	}
	return outsideOp{op}
}

type outsideOp struct{ solver.Op[*State] }

func (outsideOp) Exec(context.Context, []*State) (*State, error) { return nil, ErrNeedsNamespace }

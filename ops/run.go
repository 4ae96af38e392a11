package ops

import (
	"context"
	"fmt"
	"strings"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/solver"
)

// runOp is a RUN step. Executing it needs the sandbox, which this version
// of gorae does not have yet: the step fails with a clear error instead of
// running on the host.
type runOp struct {
	op   graph.Run
	node *graph.Node
}

func (o *runOp) CacheKey(context.Context) (solver.Key, error) { return opKey(o.op), nil }

func (o *runOp) Exec(context.Context, []*State) (*State, error) {
	return nil, fmt.Errorf("%s:%d: RUN %s: this gorae cannot execute RUN steps yet (the sandbox is not built); remove the RUN or build this Dockerfile with docker build for now",
		o.node.Pos.File, o.node.Pos.Line, strings.Join(o.op.Args, " "))
}

package ops

import (
	"context"
	"fmt"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/copier"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/solver"
)

// copyOp is COPY and ADD: it writes its layer tar straight from the
// sources, without unpacking or diffing the destination.
type copyOp struct {
	env  *Env
	op   graph.Copy
	node *graph.Node
}

// CacheKey adds to the op's definition the content digest of exactly the
// context files its sources name. Sources from stages and images are
// covered by their inputs' keys.
func (o *copyOp) CacheKey(ctx context.Context) (solver.Key, error) {
	var extra []string
	for _, s := range o.op.Sources {
		if s.Inline() {
			continue // its content is part of the op itself
		}
		c, ok := o.node.Inputs[s.Input].Op.(graph.Context)
		if !ok {
			continue
		}
		fsys, err := o.env.contextFS(c)
		if err != nil {
			return solver.Key{}, err
		}
		src := explainSource(ctx, s.Path)
		d, err := o.env.hashPath(ctx, c.Name, fsys, s.Path, src)
		if err != nil {
			return solver.Key{}, o.env.contextError(c.Name, err)
		}
		src.done(d)
		extra = append(extra, s.Path, d)
	}
	return opKey(o.op, extra...), nil
}

func (o *copyOp) Exec(ctx context.Context, inputs []*State) (*State, error) {
	dest := inputs[0]
	destFS, err := o.env.fsOf(ctx, dest)
	if err != nil {
		return nil, err
	}
	srcs := make([]copier.Source, len(inputs))
	for i := 1; i < len(inputs); i++ {
		fsys, err := o.env.fsOf(ctx, inputs[i])
		if err != nil {
			return nil, err
		}
		srcs[i] = copier.Source{FS: fsys, Context: inputs[i].Context, HTTP: inputs[i].HTTP, Git: inputs[i].Git}
	}
	fill := func(ctx context.Context, w *archive.Writer) error {
		return copier.Write(ctx, w, o.op, srcs, copier.Options{Dest: destFS, Epoch: o.env.Epoch, Tmp: o.env.Tmp})
	}
	layer, err := o.env.writeLayer(ctx, func(w *archive.Writer) error { return fill(ctx, w) })
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", o.node.Pos.File, o.node.Pos.Line, err)
	}
	o.env.keepRewrite(layer.DiffID, fill)
	return dest.with(layer, o.env.now()), nil
}

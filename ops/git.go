package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/gitsource"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/solver"
)

// gitOp checks out a git repository for ADD <git URL>. Its key is the
// commit the ref resolves to now (git ls-remote, while computing the
// key), the subdirectory and whether .git is kept, never the branch
// name: a new commit on the branch misses, an unchanged one hits without
// fetching anything.
type gitOp struct {
	env  *Env
	op   graph.Git
	node *graph.Node

	resolved *gitsource.Resolved
}

func (o *gitOp) CacheKey(ctx context.Context) (solver.Key, error) {
	if o.env.Git == nil {
		return solver.Key{}, o.errorf(errors.New("git sources are not available in this build"))
	}
	u, err := gitsource.Parse(o.op.URL)
	if err != nil {
		return solver.Key{}, o.errorf(err)
	}
	r, err := o.env.Git.Resolve(ctx, u, o.op.Checksum)
	if err != nil {
		return solver.Key{}, o.errorf(err)
	}
	o.resolved = r
	o.env.pin(o.node.Digest(), r.Commit)
	return opKey(graph.Git{KeepGitDir: o.op.KeepGitDir}, gitsource.Key(r, o.options(u))), nil
}

func (o *gitOp) options(u *gitsource.URL) gitsource.Options {
	keep := o.op.KeepGitDir
	if u.KeepGitDir != nil {
		keep = *u.KeepGitDir
	}
	return gitsource.Options{KeepGitDir: keep, NoSubmodules: u.Submodules != nil && !*u.Submodules}
}

func (o *gitOp) Exec(ctx context.Context, _ []*State) (*State, error) {
	if o.resolved == nil {
		if _, err := o.CacheKey(ctx); err != nil {
			return nil, err
		}
	}
	dir, err := o.env.Git.Checkout(ctx, o.resolved, o.options(o.resolved.URL))
	if err != nil {
		return nil, o.errorf(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, o.errorf(err)
	}
	o.env.mu.Lock()
	o.env.roots = append(o.env.roots, root)
	o.env.mu.Unlock()
	return &State{Dir: archive.RootFS{Root: root}, Git: true}, nil
}

// errorf places err at the ADD's line, naming the URL unless err does.
func (o *gitOp) errorf(err error) error {
	if u, perr := gitsource.Parse(o.op.URL); perr != nil || !strings.Contains(err.Error(), gitsource.Redact(u.Remote)) {
		err = fmt.Errorf("ADD %s: %w", gitsource.Redact(o.op.URL), err)
	}
	if o.node.Pos.Line > 0 {
		return fmt.Errorf("%s:%d: %w", o.node.Pos.File, o.node.Pos.Line, err)
	}
	return err
}

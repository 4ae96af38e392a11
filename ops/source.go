package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/copier"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/longpath"
	"github.com/gorae/gorae/solver"
)

type scratchOp struct{}

func (scratchOp) CacheKey(context.Context) (solver.Key, error) { return opKey(graph.Scratch{}), nil }

func (scratchOp) Exec(context.Context, []*State) (*State, error) { return &State{}, nil }

// imageOp gives the layers of a base image the resolver pinned and stored.
type imageOp struct {
	env *Env
	op  graph.Image
}

func (o *imageOp) CacheKey(context.Context) (solver.Key, error) {
	// The pinned digest is the identity; the name the user wrote is not.
	return opKey(graph.Image{Digest: o.op.Digest, Platform: o.op.Platform}), nil
}

func (o *imageOp) Exec(ctx context.Context, _ []*State) (*State, error) {
	img, _, err := o.env.Images.Image(ctx, o.op.Digest)
	if err != nil {
		return nil, fmt.Errorf("load base image %s: %w", o.op.Ref, err)
	}
	layers, err := ImageLayers(img)
	if err != nil {
		return nil, fmt.Errorf("load base image %s: %w", o.op.Ref, err)
	}
	return &State{Layers: layers}, nil
}

// contextOp opens a build context directory. Its key is only its name and
// excludes: the COPY that reads it adds the digests of exactly the files
// it uses.
type contextOp struct {
	env *Env
	op  graph.Context
}

func (o *contextOp) CacheKey(context.Context) (solver.Key, error) { return opKey(o.op), nil }

func (o *contextOp) Exec(context.Context, []*State) (*State, error) {
	fsys, err := o.env.contextFS(o.op)
	if err != nil {
		return nil, err
	}
	return &State{Dir: fsys, Context: true}, nil
}

// contextFS opens a build context once per build (filtered by its
// .dockerignore patterns) and shares it between key computation and copies.
func (e *Env) contextFS(op graph.Context) (archive.FS, error) {
	k := op.Name + "\x00" + strings.Join(op.Excludes, "\x00")
	e.mu.Lock()
	defer e.mu.Unlock()
	if fsys, ok := e.contexts[k]; ok {
		return fsys, nil
	}
	dir, ok := e.Contexts[op.Name]
	if !ok {
		return nil, fmt.Errorf("build context %q was not given: pass --build-context %s=DIR", op.Name, op.Name)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open build context: %w", err)
	}
	dirs := archive.NewDirs()
	e.roots = append(e.roots, root)
	e.dirs = append(e.dirs, dirs)
	fsys, err := copier.ContextFS(archive.RootFS{Root: root, Dirs: dirs}, op.Excludes)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", op.Name, err)
	}
	if e.contexts == nil {
		e.contexts = map[string]archive.FS{}
	}
	e.contexts[k] = fsys
	return fsys, nil
}

// contextError names the file of context name that err is about by its
// path on the host, as BuildKit's "open PATH: permission denied", and
// says what to do when gorae may not read it: nothing of the context is
// ever skipped.
func (e *Env) contextError(name string, err error) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	p := filepath.Join(e.Contexts[name], filepath.FromSlash(pe.Path))
	if abs, aerr := filepath.Abs(p); aerr == nil {
		p = abs
	}
	return fmt.Errorf("open %s: %w: gorae cannot read this part of the build context; make it readable by the user running gorae, or leave it out with .dockerignore", longpath.Shorten(p), pe.Err)
}

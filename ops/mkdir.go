package ops

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/copier"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/solver"
)

// mkdirOp creates WORKDIR's directory with its parents, as BuildKit does.
type mkdirOp struct {
	env  *Env
	op   graph.Mkdir
	node *graph.Node
}

func (o *mkdirOp) CacheKey(context.Context) (solver.Key, error) { return opKey(o.op), nil }

func (o *mkdirOp) Exec(ctx context.Context, inputs []*State) (*State, error) {
	dest := inputs[0]
	fsys, err := o.env.fsOf(ctx, dest)
	if err != nil {
		return nil, err
	}
	// WORKDIR follows symlinks on its path, as Docker does (/var/run → /run).
	rel, fi, err := copier.Resolve(fsys, o.op.Path, true)
	switch {
	case err == nil && fi.IsDir():
		return dest.unchanged(), nil
	case err == nil:
		return nil, fmt.Errorf("%s:%d: WORKDIR %s: /%s exists and is not a directory", o.node.Pos.File, o.node.Pos.Line, o.op.Path, rel)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s:%d: WORKDIR %s: %w", o.node.Pos.File, o.node.Pos.Line, o.op.Path, err)
	}
	uid, gid := 0, 0
	if o.op.User != "" {
		if uid, gid, err = copier.LookupOwner(fsys, o.op.User); err != nil {
			return nil, fmt.Errorf("%s:%d: WORKDIR %s: %w", o.node.Pos.File, o.node.Pos.Line, o.op.Path, err)
		}
	}
	now := time.Unix(o.env.now(), 0)
	layer, err := o.env.writeLayer(ctx, func(w *archive.Writer) error {
		return mkdirAll(w, fsys, rel, uid, gid, now)
	})
	if err != nil {
		return nil, err
	}
	return dest.with(layer, o.env.now()), nil
}

// mkdirAll writes rel and its parents: parents that exist keep their
// metadata (as an overlay diff would record them), missing ones are
// created 0755 with the owner.
func mkdirAll(w *archive.Writer, fsys archive.FS, rel string, uid, gid int, now time.Time) error {
	parts := strings.Split(rel, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		h := &tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: 0o755, Uid: uid, Gid: gid, ModTime: now}
		fi, err := fsys.Lstat(p)
		switch {
		case err == nil && fi.IsDir():
			h.Mode = archive.UnixMode(fi.Mode())
			h.Uid, h.Gid = archive.Owner(fi)
			h.ModTime = fi.ModTime()
			if i == len(parts)-1 {
				return nil
			}
		case err == nil:
			return fmt.Errorf("cannot create directory /%s: /%s exists and is not a directory", rel, p)
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		if err := w.WriteHeader(h); err != nil {
			return err
		}
	}
	return nil
}

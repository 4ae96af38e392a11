package ops

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/snapshot"
)

// fsOf returns the filesystem of a state: its directory, or a view over
// its layers. The view answers metadata questions (what COPY and WORKDIR
// ask: does the destination exist, who owns its parents) from layer
// indexes alone; only reading a file's content (a COPY --from, or
// /etc/passwd for --chown NAME) unpacks the chain, once, on first use.
func (e *Env) fsOf(ctx context.Context, s *State) (archive.FS, error) {
	if s.Dir != nil {
		return s.Dir, nil
	}
	if len(s.Layers) == 0 {
		return snapshot.NewIndexView(nil, nil), nil
	}
	ids := chainIDs(s.Layers)
	top := ids[len(ids)-1].String()
	e.mu.Lock()
	v, ok := e.views[top]
	e.mu.Unlock()
	if ok {
		return v, nil
	}
	indexes := make([][]snapshot.Entry, len(s.Layers))
	for i, l := range s.Layers {
		idx, err := e.layerIndex(ctx, l)
		if err != nil {
			return nil, err
		}
		indexes[i] = idx
	}
	unpacked := sync.OnceValues(func() (*snapshot.View, error) {
		dirs, err := e.unpack(ctx, s)
		if err != nil {
			return nil, err
		}
		return snapshot.NewView(dirs), nil
	})
	v = snapshot.NewIndexView(indexes, func(name string) (fs.File, error) {
		view, err := unpacked()
		if err != nil {
			return nil, err
		}
		return view.Open(name)
	})
	e.mu.Lock()
	if e.views == nil {
		e.views = map[string]archive.FS{}
	}
	e.views[top] = v
	e.mu.Unlock()
	return v, nil
}

// layerIndex returns a layer's metadata index: saved when gorae wrote the
// layer, or read once from the layer's tar headers (base images).
func (e *Env) layerIndex(ctx context.Context, l Layer) ([]snapshot.Entry, error) {
	idx, ok, err := e.Snapshots.LoadIndex(l.DiffID)
	if err != nil {
		return nil, err
	}
	if ok {
		return idx, nil
	}
	rc, err := e.uncompressed(l)(ctx)
	if err != nil {
		return nil, fmt.Errorf("read layer %s: %w", l.Digest, err)
	}
	defer rc.Close()
	if idx, err = snapshot.IndexLayer(ctx, rc); err != nil {
		return nil, fmt.Errorf("index layer %s: %w", l.Digest, err)
	}
	// To the blob's end: a lazy blob streamed from its registry is
	// stored only once read whole.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return nil, fmt.Errorf("read layer %s: %w", l.Digest, err)
	}
	if err := e.Snapshots.SaveIndex(l.DiffID, idx); err != nil {
		return nil, err
	}
	return idx, nil
}

// FS is the filesystem of a solved state, as COPY sees it (fsOf): the
// SBOM scanner reads an image's package databases through it. Outside
// gorae's user namespace it is ErrNeedsNamespace: reading contents may
// unpack layers.
func (e *Env) FS(ctx context.Context, s *State) (archive.FS, error) {
	if e.Outside && s.Dir == nil && len(s.Layers) > 0 {
		return nil, ErrNeedsNamespace
	}
	return e.fsOf(ctx, s)
}

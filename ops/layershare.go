package ops

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/snapshot"
)

// sharedLayers are the layers a multi-platform build has stored, by
// diffID: the platforms' graphs often make the same layer on different
// parents (COPY of the context onto each platform's base), and each
// distinct layer is compressed once.
type sharedLayers struct {
	mu    sync.Mutex
	calls map[v1.Hash]*sharedLayer
}

type sharedLayer struct {
	done chan struct{}
	l    Layer
	err  error
}

// writeSharedLayer writes the layer tar to a temporary file first, to
// learn its diffID, then compresses it into the content store unless
// another step of the build already did (or is doing) so for the same
// bytes, whose blob it then shares.
func (e *Env) writeSharedLayer(ctx context.Context, fill func(*archive.Writer) error) (Layer, error) {
	f, err := os.CreateTemp(e.Tmp, "layer-*.tar")
	if err != nil {
		return Layer{}, CheckSpace(err, e.Root)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	diff := sha256.New()
	bw := bufio.NewWriterSize(&hashWriter{h: diff, w: f, ctx: ctx}, 1<<20)
	index, err := e.writeTar(bw, fill)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return Layer{}, CheckSpace(err, e.Root)
	}
	diffID := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", diff.Sum(nil))}

	e.shared.mu.Lock()
	if e.shared.calls == nil {
		e.shared.calls = map[v1.Hash]*sharedLayer{}
	}
	c, ok := e.shared.calls[diffID]
	if !ok {
		c = &sharedLayer{done: make(chan struct{})}
		e.shared.calls[diffID] = c
	}
	e.shared.mu.Unlock()
	if ok {
		select {
		case <-c.done:
		case <-ctx.Done():
			return Layer{}, ctx.Err()
		}
		if c.err == nil {
			return c.l, nil
		}
		// The other step failed (perhaps cancelled); store it here.
		return e.compressFile(ctx, f, index)
	}
	c.l, c.err = e.compressFile(ctx, f, index)
	if c.err != nil {
		e.shared.mu.Lock()
		delete(e.shared.calls, diffID)
		e.shared.mu.Unlock()
	}
	close(c.done)
	return c.l, c.err
}

// compressFile stores the layer tar in f and its index.
func (e *Env) compressFile(ctx context.Context, f *os.File, index *snapshot.IndexBuilder) (Layer, error) {
	l, err := e.storeLayer(ctx, func(w io.Writer) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		_, err := io.Copy(w, f)
		return err
	})
	if err != nil {
		return Layer{}, err
	}
	return l, e.saveIndex(l, index)
}

package ops

import (
	"bufio"
	"context"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/archive"
)

// A COPY writes its layer tar straight from its sources into the
// compressor; nothing is unpacked. When a later RUN needs that layer on
// disk, writing the same tar again from the same sources is cheaper than
// decompressing the blob just made: the files are still in the page
// cache, and no inflate runs. keepRewrite remembers how to do that for
// the rest of the build; the snapshot store checks what it writes against
// the diffID (a source edited meanwhile makes it fall back to the blob).

// keepRewrite remembers fill as the way to write the layer diffID again.
func (e *Env) keepRewrite(diffID v1.Hash, fill func(context.Context, *archive.Writer) error) {
	e.rewrites.LoadOrStore(diffID, fill)
}

// rewrite is the snapshot.Layer Rewrite of the layer diffID, or nil when
// this build did not write it.
func (e *Env) rewrite(diffID v1.Hash) func(context.Context, io.Writer) error {
	v, ok := e.rewrites.Load(diffID)
	if !ok {
		return nil
	}
	fill := v.(func(context.Context, *archive.Writer) error)
	return func(ctx context.Context, w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<18) // whole chunks through the pipe
		tw := archive.NewWriter(bw, archive.WriterOptions{Epoch: e.Epoch})
		if err := fill(ctx, tw); err != nil {
			return err
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return bw.Flush()
	}
}

package ops

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/snapshot"
)

// writeLayer streams a layer tar produced by fill through the diffID hash
// and the compressor into the content store, in one pass and with memory
// bounded independent of its size. Nothing is stored unless fill succeeds.
// In a multi-platform build (ShareLayers) identical layers are one blob,
// compressed once (writeSharedLayer).
func (e *Env) writeLayer(ctx context.Context, fill func(*archive.Writer) error) (Layer, error) {
	if e.ShareLayers {
		return e.writeSharedLayer(ctx, fill)
	}
	var index *snapshot.IndexBuilder
	l, err := e.storeLayer(ctx, func(w io.Writer) error {
		var err error
		index, err = e.writeTar(w, fill)
		return err
	})
	if err != nil {
		return Layer{}, err
	}
	return l, e.saveIndex(l, index)
}

// writeTar writes the layer tar fill makes to w and returns its index,
// packed as it goes.
func (e *Env) writeTar(w io.Writer, fill func(*archive.Writer) error) (*snapshot.IndexBuilder, error) {
	index := &snapshot.IndexBuilder{}
	tw := archive.NewWriter(w, archive.WriterOptions{Epoch: e.Epoch, Index: index.Add})
	if err := fill(tw); err != nil {
		return nil, err
	}
	return index, tw.Close()
}

// saveIndex keeps a new layer's index, so that the next step on this
// chain reads its metadata from the index instead of unpacking the layer.
func (e *Env) saveIndex(l Layer, index *snapshot.IndexBuilder) error {
	if e.Snapshots == nil {
		return nil
	}
	return e.Snapshots.SaveBuiltIndex(l.DiffID, index)
}

// storeLayer compresses the uncompressed layer produce writes into the
// content store, hashing its diffID on the way.
func (e *Env) storeLayer(ctx context.Context, produce func(io.Writer) error) (l Layer, err error) {
	cw, err := e.Content.NewWriter()
	if err != nil {
		return Layer{}, CheckSpace(err, e.Root)
	}
	defer cw.Close()
	// Runs before cw.Close removes the partial blob.
	defer func() { err = CheckSpace(err, e.Root) }()
	comp, err := archive.NewCompressor(cw, e.Compression, e.jobs())
	if err != nil {
		return Layer{}, err
	}
	diff := sha256.New()
	meter := e.meter()
	defer func() { meter.finish(l, err) }()
	bw := bufio.NewWriterSize(&hashWriter{h: diff, w: meter.through(comp), ctx: ctx}, 1<<20)
	if err := produce(bw); err != nil {
		comp.Close()
		return Layer{}, err
	}
	if err := bw.Flush(); err != nil {
		comp.Close()
		return Layer{}, fmt.Errorf("write layer: %w", err)
	}
	if err := comp.Close(); err != nil {
		return Layer{}, fmt.Errorf("compress layer: %w", err)
	}
	digest, size, err := cw.Commit(v1.Hash{})
	if err != nil {
		return Layer{}, err
	}
	diffID := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", diff.Sum(nil))}
	l = Layer{Digest: digest, DiffID: diffID, Size: size, MediaType: e.layerMediaType()}
	if e.Epoch != nil {
		ep := e.Epoch.Unix()
		l.Epoch = &ep
	}
	return l, nil
}

// hashWriter hashes what passes through and stops at cancellation, so a
// Ctrl-C interrupts a large layer promptly.
type hashWriter struct {
	h   hash.Hash
	w   io.Writer
	ctx context.Context
}

func (h *hashWriter) Write(p []byte) (int, error) {
	if err := h.ctx.Err(); err != nil {
		return 0, err
	}
	h.h.Write(p)
	return h.w.Write(p)
}

func (e *Env) jobs() int {
	if e.Jobs > 0 {
		return e.Jobs
	}
	return runtime.NumCPU()
}

func (e *Env) layerMediaType() types.MediaType {
	switch {
	case e.Compression == archive.Zstd:
		return types.OCILayerZStd
	case e.Compression == archive.Uncompressed && e.Docker:
		return types.DockerUncompressedLayer
	case e.Compression == archive.Uncompressed:
		return types.OCIUncompressedLayer
	case e.Docker:
		return types.DockerLayer
	}
	return types.OCILayer
}

// ImageLayers lists a stored image's layers with their diffIDs.
func ImageLayers(img v1.Image) ([]Layer, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("image has %d layers but %d diff_ids", len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	out := make([]Layer, len(m.Layers))
	for i, d := range m.Layers {
		out[i] = Layer{Digest: d.Digest, DiffID: cf.RootFS.DiffIDs[i], Size: d.Size, MediaType: d.MediaType}
	}
	return out, nil
}

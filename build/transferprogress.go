package build

import (
	"errors"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/exporter"
	"github.com/gorae/gorae/progress"
)

// pullProgress wraps a remote image so that downloading each layer blob
// (when the store reads it) is shown as a transfer.
func pullProgress(img v1.Image, p *progress.Printer) v1.Image {
	if p == nil || p.Quiet() {
		return img
	}
	return progressImage{Image: img, p: p}
}

type progressImage struct {
	v1.Image
	p *progress.Printer
}

func (i progressImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = progressLayer{Layer: l, p: i.p}
	}
	return out, nil
}

type progressLayer struct {
	v1.Layer
	p *progress.Printer
}

func (l progressLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	d, err := l.Digest()
	if err != nil {
		rc.Close()
		return nil, err
	}
	size, err := l.Size()
	if err != nil {
		size = 0 // unknown: the transfer shows bytes only
	}
	name := shortDigest(d)
	return &meteredReader{ReadCloser: rc, p: l.p, id: "pull " + d.String(),
		running: "pulling layer " + name, finished: "pulled layer " + name, total: size}, nil
}

// meteredReader reports the bytes read through it as a transfer: finished
// at the end of the blob (then onEnd, if set, gets its size), dropped when
// closed before.
type meteredReader struct {
	io.ReadCloser
	p                 *progress.Printer
	id                string
	running, finished string // the transfer's label while under way, once done
	done, total       int64
	ended             bool
	onEnd             func(size int64)
}

func (r *meteredReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.done += int64(n)
	switch {
	case r.ended:
	case errors.Is(err, io.EOF) || (r.total > 0 && r.done >= r.total):
		r.ended = true
		r.p.Transfer(r.id, r.finished, r.done, r.done)
		if r.onEnd != nil {
			r.onEnd(r.done)
		}
	case n > 0:
		r.p.Transfer(r.id, r.running, r.done, r.total)
	}
	return n, err
}

func (r *meteredReader) Close() error {
	if !r.ended {
		r.ended = true
		r.p.Transfer(r.id, "", -1, 0)
	}
	return r.ReadCloser.Close()
}

// pushProgress shows a push to the registry as one transfer per name.
func pushProgress(p *progress.Printer) func(exporter.PushEvent) {
	if p == nil || p.Quiet() {
		return nil
	}
	return func(e exporter.PushEvent) {
		id := "push " + e.Name
		switch {
		case e.Status == "pushing" && e.Done < e.Size:
			p.Transfer(id, "pushing "+e.Name, e.Done, e.Size)
		case e.Status == "pushed" && e.Size > 0:
			p.Transfer(id, "pushed "+e.Name, e.Size, e.Size)
		case e.Status == "pushed" || e.Status == "tagged":
			p.Transfer(id, "", -1, 0)
			p.Logf("pushed %s (the registry had every blob)", e.Name)
		}
	}
}

// shortDigest is a digest as people read it: algorithm and 12 hex digits.
func shortDigest(d v1.Hash) string {
	if len(d.Hex) > 12 {
		return d.Algorithm + ":" + d.Hex[:12]
	}
	return d.String()
}

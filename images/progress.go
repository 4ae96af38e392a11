package images

import (
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
	name := progress.ShortDigest(d.String())
	return &progress.MeteredReader{ReadCloser: rc, Transfer: l.p.Transfer, ID: "pull " + d.String(),
		Running: "pulling layer " + name, Finished: "pulled layer " + name, Total: size}, nil
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

package testutil

import (
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/progress"
)

// PutLayer stores s as a fake layer blob in c and returns it as a cache
// record names a layer.
func PutLayer(t testing.TB, c *content.Store, s string) ops.Layer {
	t.Helper()
	d, err := c.PutBytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return ops.Layer{Digest: d, DiffID: d, Size: int64(len(s)), MediaType: types.OCILayer}
}

// Record is a cache record of layers ls, made at a fixed time.
func Record(ls ...ops.Layer) *ops.State {
	return &ops.State{Layers: ls, Added: true, Created: 1700000000}
}

// DiscardPrinter is a plain progress printer that prints nowhere.
func DiscardPrinter(t testing.TB) *progress.Printer {
	p, err := progress.New(io.Discard, "plain")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

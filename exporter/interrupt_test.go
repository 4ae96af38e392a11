package exporter

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// cancelingLayer cancels an export from inside: its streams call cancel
// on their first read, as a Ctrl-C in the middle of a layer would.
type cancelingLayer struct {
	v1.Layer
	cancel context.CancelFunc
}

type cancelingReader struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (r cancelingReader) Read(p []byte) (int, error) {
	r.cancel()
	return r.ReadCloser.Read(p)
}

func (l cancelingLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	return cancelingReader{rc, l.cancel}, err
}

func (l cancelingLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Uncompressed()
	return cancelingReader{rc, l.cancel}, err
}

func TestInterruptedExportLeavesNothing(t *testing.T) {
	tests := map[string]func(dest string) Exporter{
		"oci tar": func(d string) Exporter { return OCI{Dest: d, Tar: true} },
		"oci dir": func(d string) Exporter { return OCI{Dest: d} },
		"docker":  func(d string) Exporter { return Docker{Dest: d} },
		"local":   func(d string) Exporter { return Local{Dest: d} },
		"tar":     func(d string) Exporter { return Tar{Dest: d} },
	}
	for name, mk := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			base := fsImage(t)
			ls, err := base.Layers()
			if err != nil {
				t.Fatal(err)
			}
			img := imageOf(t, ls[0], cancelingLayer{ls[1], cancel})
			parent := t.TempDir()
			err = mk(filepath.Join(parent, "out")).Export(ctx, img, []string{"app:1"})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			onlyEntries(t, parent)
		})
	}
}

// TestFailedExportKeepsOldDest checks that an earlier output survives a
// failed export in full.
func TestFailedExportKeepsOldDest(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "out")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dest, "old"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := (Local{Dest: dest}).Export(ctx, fsImage(t), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	onlyEntries(t, parent, "out")
	if b, err := os.ReadFile(filepath.Join(dest, "old")); err != nil || string(b) != "old" {
		t.Errorf("old output damaged: %q, %v", b, err)
	}
}

package snapshot

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// A layer a COPY of this build wrote is unpacked from its Rewrite; one
// whose Rewrite fails or writes other bytes (a source edited meanwhile)
// falls back to the blob, and what lands on disk is the blob's content.
func TestUnpackRewrite(t *testing.T) {
	needRoot(t)
	rewriteAs := func(body string) func(context.Context, io.Writer) error {
		return func(_ context.Context, w io.Writer) error {
			tw := tar.NewWriter(w)
			if err := tw.WriteHeader(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
				return err
			}
			tw.Write([]byte(body))
			return tw.Close()
		}
	}
	for _, tc := range []struct {
		name      string
		rewrite   func(context.Context, io.Writer) error
		wantOpens int32
	}{
		{"same bytes", rewriteAs("content"), 0},
		{"source changed", rewriteAs("CONTENT"), 1},
		{"rewrite fails", func(context.Context, io.Writer) error { return errors.New("source gone") }, 1},
		{"fails half way", func(ctx context.Context, w io.Writer) error {
			w.Write(make([]byte, 1024))
			return errors.New("source gone")
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			var opens atomic.Int32
			l := testLayer(t, "f", "content", &opens)
			l.Rewrite = tc.rewrite
			dirs, err := s.Unpack(t.Context(), []Layer{l})
			if err != nil {
				t.Fatal(err)
			}
			if got := opens.Load(); got != tc.wantOpens {
				t.Errorf("blob opened %d times, want %d", got, tc.wantOpens)
			}
			b, err := os.ReadFile(filepath.Join(dirs[0], "f"))
			if err != nil || string(b) != "content" {
				t.Errorf("unpacked f = %q, %v; want the blob's content", b, err)
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(dirs[0])), ".tmp-*"))
			if len(left) != 0 {
				t.Errorf("temporary directories left: %v", left)
			}
		})
	}
}

// Unpacking a layer without an index (a base image's) saves the one
// IndexLayer would have made, so a later COPY does not read it again.
func TestUnpackSavesTheIndex(t *testing.T) {
	needRoot(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	l := testLayer(t, "dir/f", "content", &opens)
	if _, ok, _ := s.LoadIndex(l.DiffID); ok {
		t.Fatal("index before unpack")
	}
	if _, err := s.Unpack(t.Context(), []Layer{l}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.LoadIndex(l.DiffID)
	if err != nil || !ok {
		t.Fatalf("no index after unpack: %v", err)
	}
	rc, _ := l.Open(t.Context())
	want, err := IndexLayer(t.Context(), rc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("index after unpack has %d entries, IndexLayer %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Mode != want[i].Mode || got[i].Size != want[i].Size {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

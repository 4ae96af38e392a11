package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestChainIDs(t *testing.T) {
	h := func(c string) v1.Hash { return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(c, 64)} }
	got := ChainIDs([]v1.Hash{h("a"), h("b"), h("c")})
	// Expected values computed with sha256sum over "sha256:… sha256:…".
	want := []string{
		"sha256:" + strings.Repeat("a", 64),
		"sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c",
		"sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588",
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("ChainIDs[%d] = %s, want %s", i, got[i], want[i])
		}
	}
}

// testLayer is a one-file layer whose Open calls are counted.
func testLayer(t *testing.T, name, body string, opens *atomic.Int32) Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(body))
	tw.Close()
	data := b.Bytes()
	sum := sha256.Sum256(data)
	return Layer{
		DiffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])},
		Open: func(context.Context) (io.ReadCloser, error) {
			opens.Add(1)
			return io.NopCloser(bytes.NewReader(data)), nil
		},
	}
}

func TestUnpackOnceAndShared(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	var opens atomic.Int32
	layers := []Layer{testLayer(t, "a", "A", &opens), testLayer(t, "b", "B", &opens)}

	// Two stores on one directory stand for two builds; they race.
	var wg sync.WaitGroup
	results := make([][]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			s, err := Open(root)
			if err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = s.Unpack(t.Context(), layers)
		})
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("Unpack %d: %v", i, errs[i])
		}
	}
	if opens.Load() != 2 {
		t.Errorf("layers opened %d times, want 2 (each chain unpacked once)", opens.Load())
	}
	ids := ChainIDs([]v1.Hash{layers[0].DiffID, layers[1].DiffID})
	want := []string{filepath.Join(root, ids[0].Hex, "fs"), filepath.Join(root, ids[1].Hex, "fs")}
	for i := range 2 {
		if strings.Join(results[i], ",") != strings.Join(want, ",") {
			t.Errorf("Unpack %d = %v, want %v", i, results[i], want)
		}
	}
	// Each fs dir holds only its own layer's entries.
	if b, err := os.ReadFile(filepath.Join(want[1], "b")); err != nil || string(b) != "B" {
		t.Errorf("top layer b = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(want[1], "a")); err == nil {
		t.Error("top layer dir holds the lower layer's file")
	}
	if got := readAll(t, NewView(want), "a"); got != "A" {
		t.Errorf("view a = %q", got)
	}

	s, _ := Open(root)
	if _, err := s.Unpack(t.Context(), layers); err != nil {
		t.Fatal(err)
	}
	if opens.Load() != 2 {
		t.Errorf("second Unpack opened layers again (%d opens)", opens.Load())
	}
}

// cancelReader cancels its context once read from, as Ctrl-C would
// mid-unpack.
type cancelReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c cancelReader) Read(p []byte) (int, error) {
	c.cancel()
	return c.r.Read(p[:min(len(p), 100)])
}

func TestUnpackInterruptedLeavesNothing(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	l := testLayer(t, "big", strings.Repeat("x", 1<<20), &opens)
	open := l.Open
	ctx, cancel := context.WithCancel(t.Context())
	l.Open = func(context.Context) (io.ReadCloser, error) {
		rc, err := open(ctx)
		return io.NopCloser(cancelReader{rc, cancel}), err
	}
	if _, err := s.Unpack(ctx, []Layer{l}); err == nil {
		t.Fatal("Unpack succeeded despite cancel")
	}
	assertOnlyLocks(t, root)

	// A later, uninterrupted Unpack completes.
	l.Open = open
	if _, err := s.Unpack(t.Context(), []Layer{l}); err != nil {
		t.Fatal(err)
	}
}

func TestUnpackRejectsWrongDiffID(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	s, _ := Open(root)
	var opens atomic.Int32
	l := testLayer(t, "a", "A", &opens)
	l.DiffID.Hex = strings.Repeat("0", 64)
	_, err := s.Unpack(t.Context(), []Layer{l})
	if err == nil || !strings.Contains(err.Error(), "not its diffID") {
		t.Fatalf("Unpack = %v, want a diffID mismatch", err)
	}
	assertOnlyLocks(t, root)
}

func assertOnlyLocks(t *testing.T, root string) {
	t.Helper()
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("left %s in the store", e.Name())
		}
	}
}

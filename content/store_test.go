package content

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	root := t.TempDir()
	s, err := Open(filepath.Join(root, "content"), filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return s, filepath.Join(root, "tmp")
}

func sha(t *testing.T, b []byte) v1.Hash {
	t.Helper()
	d, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func read(t *testing.T, s *Store, d v1.Hash) []byte {
	t.Helper()
	f, err := s.Open(d)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("%s holds %d leftover entries, first %s", dir, len(entries), entries[0].Name())
	}
}

func TestPutOpenRoundTrip(t *testing.T) {
	s, tmp := open(t)
	data := []byte("hello, blob")
	d, n, err := s.Put(t.Context(), bytes.NewReader(data), v1.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	if d != sha(t, data) || n != int64(len(data)) {
		t.Fatalf("Put = %s %d, want %s %d", d, n, sha(t, data), len(data))
	}
	if got := read(t, s, d); !bytes.Equal(got, data) {
		t.Errorf("read back %q", got)
	}
	if size, err := s.Size(d); err != nil || size != int64(len(data)) {
		t.Errorf("Size = %d, %v", size, err)
	}
	if want := filepath.Join("blobs", "sha256", d.Hex); !strings.HasSuffix(s.Path(d), want) {
		t.Errorf("Path = %s, want suffix %s", s.Path(d), want)
	}
	if fi, err := os.Stat(s.Path(d)); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("blob mode %v, %v; want 0644", fi.Mode(), err)
	}
	assertEmpty(t, tmp)
}

func TestMissingBlob(t *testing.T) {
	s, _ := open(t)
	d := sha(t, []byte("absent"))
	if s.Has(d) {
		t.Error("Has(absent) = true")
	}
	if _, err := s.Open(d); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(absent) = %v, want ErrNotExist", err)
	}
	if _, err := s.Size(d); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Size(absent) = %v, want ErrNotExist", err)
	}
	if err := s.Remove(d); err != nil {
		t.Errorf("Remove(absent) = %v", err)
	}
}

func TestMalformedDigestRefused(t *testing.T) {
	s, _ := open(t)
	for _, d := range []v1.Hash{{}, {Algorithm: "sha256", Hex: "../../etc/passwd"}, {Algorithm: "md5", Hex: strings.Repeat("a", 64)}} {
		if s.Path(d) != "" || s.Has(d) {
			t.Errorf("%q accepted", d.String())
		}
		if _, err := s.Open(d); err == nil || !strings.Contains(err.Error(), "invalid blob digest") {
			t.Errorf("Open(%q) = %v", d.String(), err)
		}
	}
}

func TestDigestMismatchRefused(t *testing.T) {
	s, tmp := open(t)
	wrong := sha(t, []byte("other"))
	_, _, err := s.Put(t.Context(), strings.NewReader("actual"), wrong)
	if err == nil || !strings.Contains(err.Error(), "digest mismatch: expected "+wrong.String()) {
		t.Fatalf("Put with wrong digest = %v", err)
	}
	if s.Has(wrong) || s.Has(sha(t, []byte("actual"))) {
		t.Error("a blob was stored despite the mismatch")
	}
	assertEmpty(t, tmp)
}

func TestClosedWriterLeavesNothing(t *testing.T) {
	s, tmp := open(t)
	w, err := s.NewWriter()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "half a blob")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Commit(v1.Hash{}); err == nil {
		t.Error("Commit after Close succeeded")
	}
	assertEmpty(t, tmp)
	assertEmpty(t, filepath.Join(filepath.Dir(tmp), "content", "blobs", "sha256"))
}

func TestCancelledPutLeavesNothing(t *testing.T) {
	s, tmp := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := s.Put(ctx, strings.NewReader("data"), v1.Hash{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put under a cancelled context = %v", err)
	}
	assertEmpty(t, tmp)
}

func TestCommitIdempotentAndCloseAfterCommit(t *testing.T) {
	s, tmp := open(t)
	for range 2 {
		w, err := s.NewWriter()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "same")
		if _, _, err := w.Commit(sha(t, []byte("same"))); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close after Commit = %v", err)
		}
	}
	if got := read(t, s, sha(t, []byte("same"))); string(got) != "same" {
		t.Errorf("read back %q", got)
	}
	assertEmpty(t, tmp)
}

func TestPutSkipsKnownBlob(t *testing.T) {
	s, _ := open(t)
	d, err := s.PutBytes([]byte("known"))
	if err != nil {
		t.Fatal(err)
	}
	// A reader that fails proves Put did not read it.
	got, n, err := s.Put(t.Context(), errReader{}, d)
	if err != nil || got != d || n != 5 {
		t.Errorf("Put of a stored blob = %s %d %v", got, n, err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("read") }

func TestConcurrentPutSameBlob(t *testing.T) {
	s, tmp := open(t)
	data := bytes.Repeat([]byte("gorae"), 50_000)
	want := sha(t, data)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, _, err := s.Put(context.Background(), bytes.NewReader(data), want)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := read(t, s, sha(t, data)); !bytes.Equal(got, data) {
		t.Error("blob content differs after concurrent puts")
	}
	assertEmpty(t, tmp)
}

func TestWalkAndRemove(t *testing.T) {
	s, _ := open(t)
	want := map[v1.Hash]int64{}
	for _, b := range []string{"a", "bb", "ccc"} {
		d, err := s.PutBytes([]byte(b))
		if err != nil {
			t.Fatal(err)
		}
		want[d] = int64(len(b))
	}
	os.WriteFile(filepath.Join(filepath.Dir(s.Path(sha(t, nil))), "junk"), nil, 0o644)
	got := map[v1.Hash]int64{}
	var prev string
	err := s.Walk(func(d v1.Hash, n int64) error {
		if d.Hex < prev {
			t.Errorf("Walk out of order: %s after %s", d.Hex, prev)
		}
		prev = d.Hex
		got[d] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Walk saw %v, want %v", got, want)
	}
	for d, n := range want {
		if got[d] != n {
			t.Errorf("Walk size of %s = %d, want %d", d, got[d], n)
		}
	}
	d := sha(t, []byte("bb"))
	if err := s.Remove(d); err != nil || s.Has(d) {
		t.Errorf("Remove = %v, Has after = %v", err, s.Has(d))
	}
	stop := errors.New("stop")
	if err := s.Walk(func(v1.Hash, int64) error { return stop }); err != stop {
		t.Errorf("Walk did not return fn's error: %v", err)
	}
}

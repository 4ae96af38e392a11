package content

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// remoteBlobs is a Fetcher over a map that counts its calls.
type remoteBlobs struct {
	blobs map[v1.Hash][]byte
	calls atomic.Int32
}

func (r *remoteBlobs) fetch(_ context.Context, d v1.Hash) (io.ReadCloser, int64, error) {
	r.calls.Add(1)
	b, ok := r.blobs[d]
	if !ok {
		return nil, 0, fmt.Errorf("remote has no %s: %w", d, os.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

func TestFetchMissingBlobOnOpen(t *testing.T) {
	s, tmp := open(t)
	data := []byte("remote layer bytes")
	d := sha(t, data)
	r := &remoteBlobs{blobs: map[v1.Hash][]byte{d: data}}
	if _, err := s.Open(d); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open before SetFetcher = %v, want ErrNotExist", err)
	}
	s.SetFetcher(r.fetch)
	if s.Has(d) {
		t.Fatal("Has fetched the blob; only Open may")
	}
	rc, err := s.Layer(d, v1.Hash{}, int64(len(data)), types.OCIUncompressedLayer).Compressed()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) || !s.Has(d) {
		t.Fatalf("fetched %q, stored %v", got, s.Has(d))
	}
	if got := read(t, s, d); !bytes.Equal(got, data) || r.calls.Load() != 1 {
		t.Errorf("second Open read %q after %d fetches, want 1", got, r.calls.Load())
	}
	absent := sha(t, []byte("nowhere"))
	if _, err := s.Open(absent); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a blob the fetcher lacks = %v, want ErrNotExist", err)
	}
	assertEmpty(t, tmp)
}

func TestFetchCorruptBlobRefused(t *testing.T) {
	s, tmp := open(t)
	d := sha(t, []byte("the real bytes"))
	r := &remoteBlobs{blobs: map[v1.Hash][]byte{d: []byte("tampered bytes")}}
	s.SetFetcher(r.fetch)
	_, err := s.Open(d)
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Digest != d {
		t.Fatalf("Open of a corrupt remote blob = %v, want a FetchError for %s", err, d)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("digest mismatch")) {
		t.Errorf("error %q does not say the digest mismatched", err)
	}
	if s.Has(d) || s.Has(sha(t, []byte("tampered bytes"))) {
		t.Error("a corrupt download was stored")
	}
	assertEmpty(t, tmp)
}

func TestConcurrentFetchOneBlob(t *testing.T) {
	s, tmp := open(t)
	data := bytes.Repeat([]byte("lazy"), 100_000)
	d := sha(t, data)
	r := &remoteBlobs{blobs: map[v1.Hash][]byte{d: data}}
	s.SetFetcher(r.fetch)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			f, err := s.Open(d)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			b, err := io.ReadAll(f)
			if err == nil && !bytes.Equal(b, data) {
				err = fmt.Errorf("read %d bytes that differ from the blob", len(b))
			}
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
	assertEmpty(t, tmp)
}

package content

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Fetcher returns the bytes of blob d from outside the store (a remote
// cache) and their size, or an error wrapping os.ErrNotExist when it
// knows no such blob. The Store verifies the digest; the Fetcher need not.
type Fetcher func(ctx context.Context, d v1.Hash) (io.ReadCloser, int64, error)

// FetchError is a blob the Fetcher had but could not deliver intact (its
// bytes did not hash to its digest, or the transfer failed). Callers that
// trusted a remote record because of that blob can drop the record and
// rebuild the step.
type FetchError struct {
	Digest v1.Hash
	Err    error
}

func (e *FetchError) Error() string {
	return fmt.Sprintf("fetch blob %s: %v", e.Digest, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// SetFetcher makes Open (and so every Layer) fetch a missing blob through
// f (before any remote record is consulted), store it and serve it from the store. Nil turns fetching off. The
// blob is written like any other (temp file, digest check, rename), so
// concurrent fetches of one blob, here or in another process, are
// harmless and a corrupt download never lands in the store.
func (s *Store) SetFetcher(f Fetcher) {
	if f == nil {
		s.fetcher.Store(nil)
		return
	}
	s.fetcher.Store(&f)
}

// OpenContext is Open, fetching the blob under ctx when it is missing
// (through Stream, read to its end: the build's Fetcher first, then a
// lazy blob's remote record).
func (s *Store) OpenContext(ctx context.Context, d v1.Hash) (*os.File, error) {
	f, err := s.open(d)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	rc, err := s.Stream(ctx, d)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	return s.open(d)
}

package content

import (
	"context"
	"errors"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Stream opens blob d for one sequential read. A blob that is not local
// but can be fetched (the build's Fetcher, or a lazy blob's record) is
// read from the registry as it is stored: the caller's reads come
// straight from the download, so unpacking a layer overlaps fetching it
// instead of waiting for the whole blob. When the download ends the blob
// is committed against its digest; a corrupt one is not stored and the
// read that reached its end fails. A stream closed before its end stores
// nothing (the next reader fetches it again).
func (s *Store) Stream(ctx context.Context, d v1.Hash) (io.ReadCloser, error) {
	f, err := s.open(d)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	if fp := s.fetcher.Load(); fp != nil {
		rc, _, ferr := (*fp)(ctx, d)
		if ferr == nil {
			return s.tee(ctx, d, rc, func(err error) error {
				if ctx.Err() != nil {
					// Not the blob's fault: the build's --cache-from
					// records that name it stay.
					return context.Cause(ctx)
				}
				return &FetchError{Digest: d, Err: err}
			})
		}
		if !errors.Is(ferr, os.ErrNotExist) {
			return nil, &FetchError{Digest: d, Err: ferr}
		}
	}
	fp := s.remote.Load()
	src, ok := s.Remote(d)
	if fp == nil || !ok {
		return nil, err
	}
	wrap := func(err error) error {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return lazyError(d, src, err)
	}
	rc, _, ferr := (*fp)(ctx, d, src)
	if ferr != nil {
		return nil, wrap(ferr)
	}
	return s.tee(ctx, d, rc, wrap)
}

// tee returns rc's bytes while writing them into a new blob d.
func (s *Store) tee(ctx context.Context, d v1.Hash, rc io.ReadCloser, wrap func(error) error) (io.ReadCloser, error) {
	w, err := s.NewWriter()
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &teeBlob{r: ctxReader{ctx, rc}, rc: rc, w: w, d: d, wrap: wrap}, nil
}

type teeBlob struct {
	r    io.Reader
	rc   io.ReadCloser
	w    *Writer
	d    v1.Hash
	wrap func(error) error
	err  error // sticky: the stream's end, or its failure
}

func (t *teeBlob) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.r.Read(p)
	if n > 0 {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			t.err = werr
			return 0, werr
		}
	}
	switch {
	case err == io.EOF:
		if _, _, cerr := t.w.Commit(t.d); cerr != nil {
			t.err = t.wrap(cerr)
			return 0, t.err
		}
		t.err = io.EOF
	case err != nil:
		t.err = t.wrap(err)
	}
	return n, t.err
}

func (t *teeBlob) Close() error {
	t.w.Close() // a no-op once committed
	return t.rc.Close()
}

package content

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Store is a content-addressed blob store rooted at a directory. It holds
// no state besides its paths and an optional Fetcher for missing blobs,
// so many Stores (and processes) may share one directory.
type Store struct {
	dir     string // holds blobs/sha256
	tmp     string // in-flight writes, on the same filesystem as dir
	fetcher atomic.Pointer[Fetcher]
	remote  atomic.Pointer[RemoteFetcher] // for lazy blobs (remote.go)
}

// Open opens (creating if needed) the store at dir, writing temp files in
// tmp, which must be on the same filesystem so commits are atomic renames.
func Open(dir, tmp string) (*Store, error) {
	s := &Store{dir: dir, tmp: tmp}
	for _, d := range []string{filepath.Join(dir, "blobs", "sha256"), tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("open content store: %w", err)
		}
	}
	return s, nil
}

// valid reports whether d is a well-formed sha256 digest, so that it can
// never name a path outside the store.
func valid(d v1.Hash) bool {
	if d.Algorithm != "sha256" || len(d.Hex) != 64 {
		return false
	}
	for _, c := range d.Hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func errInvalid(d v1.Hash) error {
	return fmt.Errorf("invalid blob digest %q: want sha256:<64 lower-case hex digits>", d.String())
}

// Path returns where the blob d is (or would be) stored, or "" if d is
// not a well-formed sha256 digest.
func (s *Store) Path(d v1.Hash) string {
	if !valid(d) {
		return ""
	}
	return filepath.Join(s.dir, "blobs", d.Algorithm, d.Hex)
}

// Has reports whether the blob d is stored.
func (s *Store) Has(d v1.Hash) bool {
	_, err := s.Size(d)
	return err == nil
}

// Size returns the size of the blob d; the error wraps os.ErrNotExist
// when it is missing.
func (s *Store) Size(d v1.Hash) (int64, error) {
	if !valid(d) {
		return 0, errInvalid(d)
	}
	fi, err := os.Stat(s.Path(d))
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, err)
	}
	return fi.Size(), nil
}

// Open opens the blob d for reading, fetching it first when it is missing
// and a Fetcher is set; the error wraps os.ErrNotExist when it is missing
// (and no Fetcher has it).
func (s *Store) Open(d v1.Hash) (*os.File, error) {
	return s.OpenContext(context.Background(), d)
}

func (s *Store) open(d v1.Hash) (*os.File, error) {
	if !valid(d) {
		return nil, errInvalid(d)
	}
	f, err := os.Open(s.Path(d))
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	return f, nil
}

// Put stores everything r yields. A non-zero expected digest is verified,
// and if that blob is already stored r is not read at all.
func (s *Store) Put(ctx context.Context, r io.Reader, expected v1.Hash) (v1.Hash, int64, error) {
	if expected != (v1.Hash{}) {
		if !valid(expected) {
			return v1.Hash{}, 0, errInvalid(expected)
		}
		if n, err := s.Size(expected); err == nil {
			return expected, n, nil
		}
	}
	w, err := s.NewWriter()
	if err != nil {
		return v1.Hash{}, 0, err
	}
	defer w.Close()
	if _, err := io.Copy(w, ctxReader{ctx, r}); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("write blob: %w", err)
	}
	return w.Commit(expected)
}

// PutBytes stores b and returns its digest.
func (s *Store) PutBytes(b []byte) (v1.Hash, error) {
	d, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return v1.Hash{}, err
	}
	d, _, err = s.Put(context.Background(), bytes.NewReader(b), d)
	return d, err
}

// Walk calls fn for every stored blob, in digest order, stopping at the
// first error fn returns. Files that are not named like a digest are
// skipped.
func (s *Store) Walk(fn func(d v1.Hash, size int64) error) error {
	return s.WalkInfo(func(d v1.Hash, fi fs.FileInfo) error { return fn(d, fi.Size()) })
}

// WalkInfo is Walk with each blob file's Lstat information (for GC: its
// blocks, identity and last use), at no extra system call.
func (s *Store) WalkInfo(fn func(d v1.Hash, fi fs.FileInfo) error) error {
	dir := filepath.Join(s.dir, "blobs", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, e := range entries {
		d := v1.Hash{Algorithm: "sha256", Hex: e.Name()}
		if !valid(d) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // removed by a concurrent collector
		}
		if err != nil {
			return fmt.Errorf("stat blob %s: %w", d, err)
		}
		if err := fn(d, fi); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes the blob d and its remote record, if any. Removing a
// missing blob is not an error, so concurrent collectors do not trip over
// each other.
func (s *Store) Remove(d v1.Hash) error {
	if !valid(d) {
		return errInvalid(d)
	}
	if err := os.Remove(s.Path(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove blob %s: %w", d, err)
	}
	return s.removeRemote(d)
}

// ctxReader stops a long copy when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

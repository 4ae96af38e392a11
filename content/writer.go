package content

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Writer streams one blob into a temp file, hashing as it writes. Commit
// moves it into the store; Close discards it unless committed. Always
// defer Close.
type Writer struct {
	s    *Store
	f    *os.File
	h    hash.Hash
	n    int64
	done bool // committed or closed: the temp file is gone
}

// NewWriter starts a blob in the store's temp directory.
func (s *Store) NewWriter() (*Writer, error) {
	f, err := os.CreateTemp(s.tmp, "blob-*")
	if err != nil {
		return nil, fmt.Errorf("create temp blob: %w", err)
	}
	return &Writer{s: s, f: f, h: sha256.New()}, nil
}

// Write appends p to the blob.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("write blob: writer already committed or closed")
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// Commit verifies the blob against expected (the zero Hash accepts any
// content), syncs it to disk and renames it into place. If the blob is
// already stored, the copy is dropped. On any error nothing is stored and
// the temp file is removed.
func (w *Writer) Commit(expected v1.Hash) (_ v1.Hash, _ int64, err error) {
	if w.done {
		return v1.Hash{}, 0, fmt.Errorf("commit blob: writer already committed or closed")
	}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.h.Sum(nil))}
	if expected != (v1.Hash{}) && expected != d {
		return v1.Hash{}, 0, fmt.Errorf("commit blob: digest mismatch: expected %s, got %s (%d bytes); the source is corrupt or was changed while reading", expected, d, w.n)
	}
	if err := w.f.Chmod(0o644); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("commit blob %s: %w", d, err)
	}
	if err := w.f.Sync(); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("commit blob %s: %w", d, err)
	}
	if err := w.f.Close(); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("commit blob %s: %w", d, err)
	}
	tmp, dst := w.f.Name(), w.s.Path(d)
	if w.s.Has(d) {
		w.done = true
		os.Remove(tmp)
		return d, w.n, nil
	}
	// rename replaces atomically, so a concurrent writer of the same blob
	// racing past the Has check above is harmless: the bytes are equal.
	if err := os.Rename(tmp, dst); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("commit blob %s: %w", d, err)
	}
	w.done = true
	syncDir(filepath.Dir(dst))
	// The bytes are local now: a remote record for them is stale. Failing
	// to remove it is harmless, since Open finds the local blob first.
	w.s.removeRemote(d)
	return d, w.n, nil
}

// Close removes the temp file unless the blob was committed. It is safe to
// call more than once and after Commit.
func (w *Writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove temp blob: %w", err)
	}
	return nil
}

// syncDir makes a rename durable. It is best effort: the blob is correct
// either way, and a lost rename only costs a re-download.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

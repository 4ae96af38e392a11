package content

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// A lazy blob is one a stored image needs but whose bytes stay in a
// registry until something reads them (a build whose every step came from
// a --cache-from registry need not download the final image's layers).
// Its remote record, DIR/remote/sha256/<hex>, says where it is. Has and
// Walk still mean "the bytes are local"; Open fetches a lazy blob through
// the RemoteFetcher and, once the bytes are stored, the record goes.

// RemoteSource is where a lazy blob can be fetched from.
type RemoteSource struct {
	// Ref is the repository without tag or digest, e.g.
	// "127.0.0.1:5000/cache".
	Ref       string          `json:"ref"`
	Size      int64           `json:"size"`
	MediaType types.MediaType `json:"mediaType"`
	// Insecure says the registry is spoken to over plain HTTP (a loopback
	// host or one given to --insecure-registry when the record was made).
	Insecure bool `json:"insecure,omitempty"`
	// Image names the image the blob was recorded for, for error messages.
	Image string `json:"image,omitempty"`
	// Base says the blob is a layer of a base image a build pulled
	// (Image), not one of a --cache-from registry.
	Base bool `json:"base,omitempty"`
}

// RemoteFetcher returns the bytes of the lazy blob d from src. The Store
// verifies the digest; the RemoteFetcher need not.
type RemoteFetcher func(ctx context.Context, d v1.Hash, src RemoteSource) (io.ReadCloser, int64, error)

// SetRemoteFetcher makes Open fetch lazy blobs through f (nil turns that
// off). It is independent of SetFetcher, which is consulted first.
func (s *Store) SetRemoteFetcher(f RemoteFetcher) {
	if f == nil {
		s.remote.Store(nil)
		return
	}
	s.remote.Store(&f)
}

func (s *Store) remotePath(d v1.Hash) string {
	return filepath.Join(s.dir, "remote", d.Algorithm, d.Hex)
}

// AddRemote records that blob d, which is not local, can be fetched from
// src. Recording a blob whose bytes are local does nothing. The record is
// written atomically (temp file, rename), so a reader sees it whole or
// not at all.
func (s *Store) AddRemote(d v1.Hash, src RemoteSource) (err error) {
	if !valid(d) {
		return errInvalid(d)
	}
	if src.Ref == "" || src.Size < 0 {
		return fmt.Errorf("record remote blob %s: need a repository and a size", d)
	}
	if s.Has(d) {
		return nil
	}
	b, err := json.Marshal(src)
	if err != nil {
		return fmt.Errorf("record remote blob %s: %w", d, err)
	}
	dst := s.remotePath(d)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("record remote blob %s: %w", d, err)
	}
	f, err := os.CreateTemp(s.tmp, "remote-*")
	if err != nil {
		return fmt.Errorf("record remote blob %s: %w", d, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(b); err != nil {
		return fmt.Errorf("record remote blob %s: %w", d, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("record remote blob %s: %w", d, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("record remote blob %s: %w", d, err)
	}
	if err = os.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("record remote blob %s: %w", d, err)
	}
	return nil
}

// Remote returns the remote record of blob d. A missing, unreadable or
// corrupt record is reported as absent: the blob is then simply missing.
func (s *Store) Remote(d v1.Hash) (RemoteSource, bool) {
	if !valid(d) {
		return RemoteSource{}, false
	}
	b, err := os.ReadFile(s.remotePath(d))
	if err != nil {
		return RemoteSource{}, false
	}
	var src RemoteSource
	if json.Unmarshal(b, &src) != nil || src.Ref == "" || src.Size < 0 {
		return RemoteSource{}, false
	}
	return src, true
}

// WalkRemote calls fn for every remote record's digest, stopping at the
// first error fn returns. Records may be corrupt; Remote tells.
func (s *Store) WalkRemote(fn func(d v1.Hash) error) error {
	entries, err := os.ReadDir(filepath.Join(s.dir, "remote", "sha256"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list remote blobs: %w", err)
	}
	for _, e := range entries {
		d := v1.Hash{Algorithm: "sha256", Hex: e.Name()}
		if !valid(d) || !e.Type().IsRegular() {
			continue
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// RemotePath returns where the remote record of d is (or would be), or ""
// if d is not a well-formed sha256 digest.
func (s *Store) RemotePath(d v1.Hash) string {
	if !valid(d) {
		return ""
	}
	return s.remotePath(d)
}

// removeRemote deletes the remote record of d, if any.
func (s *Store) removeRemote(d v1.Hash) error {
	if err := os.Remove(s.remotePath(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove remote record %s: %w", d, err)
	}
	return nil
}

// lazyError explains a failed fetch of the lazy blob d from src.
func lazyError(d v1.Hash, src RemoteSource, err error) error {
	of := ""
	if src.Image != "" {
		of = " of " + src.Image
	}
	remedy := "rebuild the image without --cache-from"
	if src.Base {
		remedy = "pull the image whole while it is (gorae pull " + src.Image + ")"
	}
	return fmt.Errorf("layer %s%s is not local and could not be fetched from %s: %w; make the registry reachable (log in if it needs credentials) and retry, or %s",
		d, of, src.Ref, unwrapFetch(err), remedy)
}

// unwrapFetch drops the FetchError layer, whose text would repeat the
// digest, and which must not make a build drop its --cache-from records.
func unwrapFetch(err error) error {
	var fe *FetchError
	if errors.As(err, &fe) {
		return fe.Err
	}
	return err
}

package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/gorae/gorae/flock"
)

// refName is the OCI annotation that carries an image's name.
const refName = "org.opencontainers.image.ref.name"

func (s *Store) indexPath() string { return filepath.Join(s.dir, "index.json") }

// readIndex returns the current index; a missing file is an empty store.
func (s *Store) readIndex() (*v1.IndexManifest, error) {
	b, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	var idx v1.IndexManifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&idx); err != nil {
		return nil, fmt.Errorf("image index %s is corrupt (%v): restore it from a backup, or move it away to start with an empty image list (the blobs stay in the content store)", s.indexPath(), err)
	}
	for _, m := range idx.Manifests {
		if _, err := v1.NewHash(m.Digest.String()); err != nil {
			return nil, fmt.Errorf("image index %s is corrupt (entry %q has digest %q): restore it from a backup, or move it away to start with an empty image list", s.indexPath(), m.Annotations[refName], m.Digest.String())
		}
	}
	return &idx, nil
}

// update applies fn to the index under the store lock and replaces
// index.json atomically. fn sees the latest index, so concurrent updates
// from goroutines or processes never lose each other's names.
func (s *Store) update(ctx context.Context, fn func(idx *v1.IndexManifest) error) (err error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	slices.SortStableFunc(idx.Manifests, func(a, b v1.Descriptor) int {
		return strings.Compare(a.Annotations[refName], b.Annotations[refName])
	})
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("encode image index: %w", err)
	}
	f, err := os.CreateTemp(s.dir, "index-*.json")
	if err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	if err := os.Rename(f.Name(), s.indexPath()); err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	return nil
}

// lock takes the exclusive store lock, waiting until ctx is done. flock
// locks belong to the open file, so this excludes other goroutines of the
// same process as well as other processes.
func (s *Store) lock(ctx context.Context) (unlock func(), err error) {
	unlock, err = flock.Lock(ctx, filepath.Join(s.dir, "lock"), 0o644, true, flock.Wait{Min: 5 * time.Millisecond})
	switch {
	case err == nil:
		return unlock, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("lock image store %s: %w", s.dir, err)
	}
	return nil, fmt.Errorf("lock image store: %w", err)
}

// setName points name at d, dropping whatever it named before.
func setName(idx *v1.IndexManifest, name string, d v1.Descriptor) {
	idx.Manifests = slices.DeleteFunc(idx.Manifests, func(m v1.Descriptor) bool {
		return m.Annotations[refName] == name || (m.Digest == d.Digest && m.Annotations[refName] == "")
	})
	d.Annotations = map[string]string{refName: name}
	d.Platform, d.URLs, d.Data = nil, nil, nil
	idx.Manifests = append(idx.Manifests, d)
}

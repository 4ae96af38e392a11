package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/flock"
)

// Store keeps one unpacked directory per layer chain:
// DIR/<chainID hex>/fs holds only the chain's top layer's own entries, in
// overlay format. See the package documentation for the lifecycle.
type Store struct {
	dir string
}

// Layer is one layer of an image: its diffID and a way to read its
// uncompressed tar, called only when the chain is not unpacked yet.
type Layer struct {
	DiffID v1.Hash
	Open   func() (io.ReadCloser, error)
}

// Open returns the Store under dir ($GORAE_ROOT/snapshots), creating it,
// and cleans up after processes that died with active snapshots.
func Open(dir string) (*Store, error) {
	s, err := OpenShared(dir)
	if err != nil {
		return nil, err
	}
	s.cleanActive()
	return s, nil
}

// OpenShared returns the Store under dir without cleaning up after dead
// processes: for a process that must not touch their files (a rootless
// gorae outside its user namespace).
func OpenShared(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Unpack makes sure the chain of every prefix of layers is unpacked and
// returns their fs directories, bottom first: the stack for NewView, or
// reversed, an overlay lowerdir list.
func (s *Store) Unpack(ctx context.Context, layers []Layer) ([]string, error) {
	diffIDs := make([]v1.Hash, len(layers))
	for i, l := range layers {
		if l.DiffID.Algorithm != "sha256" || len(l.DiffID.Hex) != 64 {
			return nil, fmt.Errorf("unpack layer %d: diffID %q is not a sha256 digest", i, l.DiffID)
		}
		diffIDs[i] = l.DiffID
	}
	dirs := make([]string, len(layers))
	for i, id := range ChainIDs(diffIDs) {
		d, err := s.unpackOne(ctx, id.Hex, layers[i])
		if err != nil {
			return nil, fmt.Errorf("unpack layer %s: %w", layers[i].DiffID, err)
		}
		dirs[i] = d
	}
	return dirs, nil
}

func (s *Store) unpackOne(ctx context.Context, chain string, l Layer) (string, error) {
	final := filepath.Join(s.dir, chain)
	fsDir := filepath.Join(final, "fs")
	if _, err := os.Lstat(fsDir); err == nil {
		touch(final)
		return fsDir, nil
	}
	unlock, err := s.lock(ctx, chain)
	if err != nil {
		return "", err
	}
	defer unlock()
	// Someone may have finished while we waited for the lock.
	if _, err := os.Lstat(fsDir); err == nil {
		return fsDir, nil
	}
	s.removeStale(chain)
	tmp, err := os.MkdirTemp(s.dir, ".tmp-"+chain+"-")
	if err != nil {
		return "", fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := s.apply(ctx, filepath.Join(tmp, "fs"), l); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("move unpacked layer into place: %w", err)
	}
	return fsDir, nil
}

// apply unpacks l into fsDir, verifying the tar against the diffID, and
// flushes it to disk so that the rename that publishes it cannot reach
// the disk before the content does.
func (s *Store) apply(ctx context.Context, fsDir string, l Layer) error {
	if err := os.Mkdir(fsDir, 0o755); err != nil {
		return fmt.Errorf("create layer directory: %w", err)
	}
	if err := resetRoot(fsDir); err != nil { // whatever the umask
		return err
	}
	rc, err := l.Open()
	if err != nil {
		return fmt.Errorf("open layer: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	r := io.TeeReader(rc, h)
	if _, err := archive.Apply(ctx, fsDir, r); err != nil {
		return err
	}
	// The tar may carry padding past its end marker; it counts for the
	// diffID.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("read layer: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != l.DiffID.Hex {
		return fmt.Errorf("layer content has digest sha256:%s, not its diffID: the blob is corrupt; remove it from the store and pull again", got)
	}
	d, err := os.Open(fsDir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("flush unpacked layer: %w", err)
	}
	return nil
}

// lock takes an exclusive flock on DIR/<chain>.lock, polling so that a
// cancelled ctx ends the wait. flock excludes other open file
// descriptions too, so it also serializes goroutines of one process.
func (s *Store) lock(ctx context.Context, chain string) (func(), error) {
	unlock, err := flock.Lock(ctx, filepath.Join(s.dir, chain+".lock"), 0o600, true, flock.Wait{Min: time.Millisecond, Max: 100 * time.Millisecond})
	switch {
	case err == nil:
		return unlock, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("lock snapshot %s: %w", chain, err)
}

// removeStale deletes temporary directories of chain left by a process
// that died while unpacking it; the caller holds the chain's lock, so no
// live unpack owns them.
func (s *Store) removeStale(chain string) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-"+chain+"-") {
			_ = os.RemoveAll(filepath.Join(s.dir, e.Name()))
		}
	}
}

// touch marks a chain directory used now: its mtime is what GC ranks
// chains by (least recently used first). Failing only makes it look older.
func touch(dir string) {
	now := time.Now()
	_ = os.Chtimes(dir, now, now)
}

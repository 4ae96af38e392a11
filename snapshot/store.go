package snapshot

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

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
	Open   func(context.Context) (io.ReadCloser, error)
	// Rewrite, when set, writes the layer's uncompressed tar again from
	// the files it was made of (a COPY of this build, whose sources are
	// still at hand): that spares decompressing the blob Open reads. It
	// is tried first; if it fails or what it writes does not hash to
	// DiffID (a source changed since), its directory is discarded and
	// Open is used.
	Rewrite func(ctx context.Context, w io.Writer) error
}

// Open returns the Store under dir ($GORAE_ROOT/snapshots), creating it,
// and cleans up after processes that died with active snapshots.
func Open(dir string) (*Store, error) {
	s, err := OpenShared(dir)
	if err != nil {
		return nil, err
	}
	s.cleanActive()
	s.settle()
	return s, nil
}

// OpenShared returns the Store under dir without cleaning up after dead
// processes: for a process that must not touch their files (a rootless
// gorae outside its user namespace).
func OpenShared(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	spreadNewDirs(dir)
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
	// Each chain's directory holds only its own layer's entries, so the
	// layers of a chain never overlap on disk: they unpack in parallel
	// (decompression on one core, writing files on another).
	dirs := make([]string, len(layers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(unpackJobs)
	for i, id := range ChainIDs(diffIDs) {
		g.Go(func() error {
			d, err := s.unpackOne(gctx, id.Hex, layers[i])
			if err != nil {
				return fmt.Errorf("unpack layer %s: %w", layers[i].DiffID, err)
			}
			dirs[i] = d
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return dirs, nil
}

// unpackJobs bounds the layers unpacked at once: enough to overlap one
// layer's decompression with another's writes, few enough that a chain
// of many layers does not thrash the disk.
const unpackJobs = 4

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
	tmp, err := s.mkdirSpread(func() (string, error) { return os.MkdirTemp(s.dir, ".tmp-"+chain+"-") })
	if err != nil {
		return "", fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	dst := filepath.Join(tmp, "fs")
	done := false
	if l.Rewrite != nil {
		done = s.apply(ctx, dst, l.DiffID, rewritten(l.Rewrite)) == nil
		if !done {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			if err := os.RemoveAll(dst); err != nil {
				return "", fmt.Errorf("discard rewritten layer: %w", err)
			}
		}
	}
	if !done {
		if err := s.apply(ctx, dst, l.DiffID, l.Open); err != nil {
			return "", err
		}
	}
	if err := s.published(chain, tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("move unpacked layer into place: %w", err)
	}
	return fsDir, nil
}

// rewritten turns a Rewrite into an Open: the tar streams through a pipe
// from a goroutine, which Close stops and waits for.
func rewritten(write func(context.Context, io.Writer) error) func(context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			pw.CloseWithError(write(ctx, pw))
		}()
		return &pipeReader{PipeReader: pr, done: done}, nil
	}
}

type pipeReader struct {
	*io.PipeReader
	done chan struct{}
}

func (p *pipeReader) Close() error {
	p.PipeReader.CloseWithError(errors.New("layer reader closed"))
	<-p.done
	return nil
}

// apply unpacks the tar open gives into fsDir, verifying it against
// diffID. The caller publishes the directory (published, durable.go).
func (s *Store) apply(ctx context.Context, fsDir string, diffID v1.Hash, open func(context.Context) (io.ReadCloser, error)) error {
	if err := os.Mkdir(fsDir, 0o755); err != nil {
		return fmt.Errorf("create layer directory: %w", err)
	}
	if err := resetRoot(fsDir); err != nil { // whatever the umask
		return err
	}
	rc, err := open(ctx)
	if err != nil {
		return fmt.Errorf("open layer: %w", err)
	}
	ra := newReadAhead(rc, 1<<18, 8)
	defer ra.Close()
	h := sha256.New()
	r := io.TeeReader(ra, h)
	// A layer gorae did not write (a base image's) has no index yet: it
	// is made from the headers Apply reads, so that a later COPY onto
	// the image need not decompress the layer again for its file list.
	var x *indexer
	var each func(*tar.Header)
	if !s.hasIndex(diffID) {
		x = newIndexer()
		each = x.keep
	}
	if _, err := archive.ApplyEach(ctx, fsDir, r, each); err != nil {
		return err
	}
	// The tar may carry padding past its end marker; it counts for the
	// diffID.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("read layer: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != diffID.Hex {
		return fmt.Errorf("layer content has digest sha256:%s, not its diffID: the blob is corrupt; remove it from the store and pull again", got)
	}
	if x != nil && x.err == nil {
		// Only a speed-up: a layer without one is indexed when read.
		_ = s.SaveIndex(diffID, x.out)
	}
	return nil
}

// hasIndex reports whether the layer diffID has a saved index.
func (s *Store) hasIndex(diffID v1.Hash) bool {
	p, err := s.indexPath(diffID)
	if err != nil {
		return false
	}
	_, err = os.Lstat(p)
	return err == nil
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

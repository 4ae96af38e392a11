package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/longpath"
)

// Commit makes the changes Diff wrote the chain directory of chainID
// (the chain of the lowers plus the diffID of Diff's tar) and ends the
// snapshot. Over an overlay, the upper directory already is that
// directory in overlay format, so it is renamed into place after the
// entries Diff left out are deleted from it; a plain copy has its diff
// unpacked instead. If another build committed the same chain first, its
// directory is kept and this snapshot is simply removed. When Commit
// fails the snapshot is left as it is, for the caller to Remove.
func (a *Active) Commit(ctx context.Context, s *Store, chainID v1.Hash) error {
	if chainID.Algorithm != "sha256" || len(chainID.Hex) != 64 {
		return fmt.Errorf("commit snapshot: chain ID %q is not a sha256 digest", chainID)
	}
	if a.diff == nil {
		return errors.New("commit snapshot: Diff was not called, so the layer's diffID cannot be known; call Diff first")
	}
	if err := a.unmount(); err != nil {
		return err
	}
	chain := chainID.Hex
	final := filepath.Join(s.dir, chain)
	fsDir := filepath.Join(final, "fs")
	unlock, err := s.lock(ctx, chain)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Lstat(fsDir); err == nil {
		return a.Remove()
	}
	s.removeStale(chain)
	tmp, err := os.MkdirTemp(s.dir, ".tmp-"+chain+"-")
	if err != nil {
		return fmt.Errorf("commit snapshot: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if a.copied {
		err = a.applyDiff(ctx, filepath.Join(tmp, "fs"))
	} else {
		err = a.moveUpper(filepath.Join(tmp, "fs"))
	}
	if err != nil {
		return fmt.Errorf("commit snapshot: %w", err)
	}
	if err := s.published(chain, tmp); err != nil {
		return fmt.Errorf("commit snapshot: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("commit snapshot: move layer into place: %w", err)
	}
	return a.Remove()
}

// moveUpper deletes what Diff left out of the layer from the upper
// directory (Diff lists children before parents), so that the directory holds
// exactly the layer, and renames it to fsDir.
func (a *Active) moveUpper(fsDir string) error {
	for _, p := range a.diff.pruned {
		if err := longpath.Remove(filepath.Join(a.Upper, p)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("drop unchanged entry %s: %w", p, err)
		}
	}
	// A later step, or gorae run, must not see a socket that the layer
	// (and so the image elsewhere) lacks.
	for _, p := range a.diff.dropped {
		if err := longpath.Remove(filepath.Join(a.Upper, p)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("drop socket %s: %w", p, err)
		}
	}
	if err := resetRoot(a.Upper); err != nil {
		return err
	}
	if err := os.Rename(a.Upper, fsDir); err != nil {
		return fmt.Errorf("move upper directory: %w", err)
	}
	return nil
}

// applyDiff unpacks the snapshot's diff into fsDir: a plain copy has no
// upper directory to rename.
func (a *Active) applyDiff(ctx context.Context, fsDir string) error {
	if err := os.Mkdir(fsDir, 0o755); err != nil {
		return err
	}
	if err := resetRoot(fsDir); err != nil { // whatever the umask
		return err
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := archive.NewWriter(pw, archive.WriterOptions{})
		_, err := a.Diff(ctx, w, a.diff.skip)
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	_, err := archive.Apply(ctx, fsDir, pr)
	pr.CloseWithError(io.ErrClosedPipe) // unblock the writer if Apply stopped early
	<-done
	return err
}

// resetRoot gives a layer directory's root what unpacking a layer tar
// gives it, since no layer holds the root directory itself (see Diff):
// mode 0755, owned by gorae's user, no xattrs but overlayfs's own. A
// command's chmod or chown of / stays in the upper directory otherwise,
// and the next RUN would see it though the image does not have it.
func resetRoot(dir string) error {
	if err := os.Lchown(dir, os.Geteuid(), os.Getegid()); err != nil {
		return fmt.Errorf("reset layer root: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("reset layer root: %w", err)
	}
	x, err := xattrs(dir)
	if err != nil {
		return fmt.Errorf("reset layer root: %w", err)
	}
	for k := range x {
		if err := unix.Lremovexattr(dir, k); err != nil && !errors.Is(err, unix.ENODATA) {
			return fmt.Errorf("reset layer root: remove xattr %s: %w", k, err)
		}
	}
	return nil
}

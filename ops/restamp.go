package ops

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/snapshot"
)

// Restamp returns l as a build with another epoch writes it: every entry
// whose time is l's epoch (a time the old build clamped) takes the new
// one, and the writer clamps the rest as a cold build would. The layers
// of a fresh clone's context and of RUN are newer than any commit, so the
// result is the cold build's layer; a file whose own time lies between
// the two epochs keeps the old epoch instead (docs/reproducibility.md).
// A layer without an epoch (a base image's) is returned as it is.
func (e *Env) Restamp(ctx context.Context, l Layer, epoch time.Time) (Layer, error) {
	if l.Epoch == nil || *l.Epoch == epoch.Unix() {
		return l, nil
	}
	old := time.Unix(*l.Epoch, 0)
	rc, err := e.uncompressed(l)(ctx)
	if err != nil {
		return Layer{}, err
	}
	defer rc.Close()
	index := &snapshot.IndexBuilder{}
	out, err := e.storeLayer(ctx, func(w io.Writer) error {
		tw := archive.NewWriter(w, archive.WriterOptions{Epoch: &epoch, Index: index.Add})
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return tw.Close()
			}
			if err != nil {
				return fmt.Errorf("read layer %s: %w", l.Digest, err)
			}
			if h.ModTime.Equal(old) {
				h.ModTime = epoch
			}
			for _, k := range paxBasic { // the reader's; the writer derives them again
				delete(h.PAXRecords, k)
			}
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if h.Typeflag == tar.TypeReg {
				if _, err := io.Copy(tw, tr); err != nil {
					return err
				}
			}
		}
	})
	if err != nil {
		return Layer{}, fmt.Errorf("restamp layer %s: %w", l.Digest, err)
	}
	ep := epoch.Unix()
	out.Epoch = &ep
	return out, e.saveIndex(out, index)
}

// paxBasic are the PAX keys tar.Writer makes from a header's fields.
var paxBasic = []string{"path", "linkpath", "size", "uid", "gid", "uname", "gname", "mtime", "atime", "ctime"}

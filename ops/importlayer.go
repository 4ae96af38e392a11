package ops

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gorae/gorae/archive"
)

// ImportLayer turns a root filesystem tar (plain or compressed) into a
// normalized, compressed layer in the content store (gorae import).
func (e *Env) ImportLayer(ctx context.Context, r io.Reader) (Layer, error) {
	rc, _, err := archive.Decompress(r)
	if err != nil {
		return Layer{}, fmt.Errorf("read root filesystem tar: %w", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	return e.writeLayer(ctx, func(w *archive.Writer) error {
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read root filesystem tar: %w", err)
			}
			if archive.CleanName(h.Name) == "" {
				continue
			}
			if err := w.WriteHeader(h); err != nil {
				return err
			}
			if h.Typeflag == tar.TypeReg {
				if _, err := w.ReadFrom(tr); err != nil {
					return fmt.Errorf("read root filesystem tar: %s: %w", h.Name, err)
				}
			}
		}
	})
}

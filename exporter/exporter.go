package exporter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Exporter is a sink for a built image. names are the image names the user
// asked for (-t), in order; a sink that has no use for names ignores them.
type Exporter interface {
	Export(ctx context.Context, img v1.Image, names []string) error
}

// IndexExporter is a sink that also takes a multi-platform result: an
// image index (or Docker manifest list) whose manifests carry their
// platforms. names are as for Export.
type IndexExporter interface {
	ExportIndex(ctx context.Context, idx v1.ImageIndex, names []string) error
}

// errManifestList is what type=docker says to several platforms.
var errManifestList = errors.New("docker exporter does not support exporting manifest lists, use the oci exporter, type=local/tar with platform-split, or --push")

// CheckPlatforms says, before a build of n platforms starts, whether e
// can take its result; a failure is a usage error. One platform gives an
// image, which every exporter takes; several give an index, which
// type=docker refuses. Image (type=image) is the caller's to check.
func CheckPlatforms(e Exporter, n int) error {
	if n < 2 {
		return nil
	}
	switch e.(type) {
	case Image, *Image:
		return nil
	case Docker, *Docker:
		return fmt.Errorf("--output type=docker cannot hold %d platforms: %w", n, errManifestList)
	}
	if _, ok := e.(IndexExporter); !ok {
		return fmt.Errorf("this --output cannot hold %d platforms; use --output type=oci, type=local or type=tar, or --push", n)
	}
	return nil
}

// Stdout is the Dest that sends a tar stream to standard output.
const Stdout = "-"

// stdout returns w, or os.Stdout when w is nil.
func stdout(w io.Writer) io.Writer {
	if w == nil {
		return os.Stdout
	}
	return w
}

// writeFile produces dest atomically: fill writes into a temporary file in
// dest's directory, which is synced and renamed over dest only when fill
// succeeds and ctx is still live. Dest "-" streams to out instead.
func writeFile(ctx context.Context, dest string, out io.Writer, fill func(w io.Writer) error) (err error) {
	if dest == Stdout {
		return fill(ctxWriter{ctx, stdout(out)})
	}
	f, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file beside %s: %w", dest, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := fill(ctxWriter{ctx, f}); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), dest); err != nil {
		return fmt.Errorf("rename %s to %s: %w", f.Name(), dest, err)
	}
	return nil
}

// writeDir produces directory dest atomically: fill populates a temporary
// directory beside dest, which then replaces dest. An existing dest is moved
// aside first and removed only after the new one is in place.
func writeDir(ctx context.Context, dest string, fill func(dir string) error) (err error) {
	if err := checkReplaceable(dest); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary directory beside %s: %w", dest, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := fill(tmp); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	old := tmp + ".old"
	moved := false
	if _, err := os.Lstat(dest); err == nil {
		if err := os.Rename(dest, old); err != nil {
			return fmt.Errorf("move old %s aside: %w", dest, err)
		}
		moved = true
	}
	if err := os.Rename(tmp, dest); err != nil {
		if moved {
			os.Rename(old, dest)
		}
		return fmt.Errorf("rename %s to %s: %w", tmp, dest, err)
	}
	if moved {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("remove old %s (now at %s): %w", dest, old, err)
		}
	}
	return nil
}

// checkReplaceable refuses a directory destination that is not a
// directory, or that holds the working directory: replacing "." or a
// parent of it would delete the user's own files.
func checkReplaceable(dest string) error {
	fi, err := os.Lstat(dest)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check destination %s: %w", dest, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("destination %s exists and is not a directory; remove it or choose another dest", dest)
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return fmt.Errorf("resolve destination %s: %w", dest, err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("resolve working directory: %w", err)
	}
	if abs == wd || abs == "/" || strings.HasPrefix(wd, abs+string(filepath.Separator)) {
		return fmt.Errorf("destination %s contains the working directory and would be replaced; choose a new or dedicated directory as dest", dest)
	}
	return nil
}

// ctxWriter fails writes once ctx is done, so a long stream stops promptly
// on cancel.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.w.Write(p)
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

package exporter

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// OCI exports an OCI image layout: a tar file by default, a directory when
// Tar is false. Names become index entries annotated with the full name
// (io.containerd.image.name) and the tag (org.opencontainers.image.ref.name),
// as BuildKit writes them. An image index is written as BuildKit writes a
// multi-platform result: index.json names the index, which lists the
// platform manifests.
type OCI struct {
	Dest string
	Tar  bool
	// Out receives the tar when Dest is "-"; os.Stdout when nil.
	Out io.Writer
}

var (
	_ Exporter      = OCI{}
	_ IndexExporter = OCI{}
)

func (o OCI) Export(ctx context.Context, img v1.Image, names []string) error {
	return o.write(ctx, func(s sink) error { return writeLayout(ctx, s, img, names, false) })
}

func (o OCI) ExportIndex(ctx context.Context, idx v1.ImageIndex, names []string) error {
	return o.write(ctx, func(s sink) error { return writeIndexLayout(ctx, s, idx, names) })
}

func (o OCI) write(ctx context.Context, fill func(s sink) error) error {
	if o.Tar {
		return writeTarLayout(ctx, o.Dest, o.Out, fill)
	}
	if o.Dest == Stdout || o.Dest == "" {
		return fmt.Errorf("oci directory output needs a dest directory; use tar=true to write to stdout")
	}
	return writeDir(ctx, o.Dest, func(dir string) error {
		root, err := os.OpenRoot(dir)
		if err != nil {
			return fmt.Errorf("open %s: %w", dir, err)
		}
		defer root.Close()
		if err := fill(dirSink{root}); err != nil {
			return fmt.Errorf("write OCI layout %s: %w", o.Dest, err)
		}
		return nil
	})
}

// Docker exports a tarball `docker load` accepts: an OCI layout plus
// manifest.json and repositories, as `docker save` writes since Docker 25.
// Every name must carry a tag (a missing one means :latest). It holds one
// image: an index (several platforms) is refused, as BuildKit does.
type Docker struct {
	Dest string
	// Out receives the tar when Dest is "-"; os.Stdout when nil.
	Out io.Writer
}

var (
	_ Exporter      = Docker{}
	_ IndexExporter = Docker{}
)

func (d Docker) Export(ctx context.Context, img v1.Image, names []string) error {
	return writeTarLayout(ctx, d.Dest, d.Out, func(s sink) error { return writeLayout(ctx, s, img, names, true) })
}

// ExportIndex refuses: `docker load` of a manifest list would keep one
// platform only, if any. It writes nothing.
func (d Docker) ExportIndex(context.Context, v1.ImageIndex, []string) error {
	return errManifestList
}

func writeTarLayout(ctx context.Context, dest string, out io.Writer, fill func(s sink) error) error {
	if dest == "" {
		return fmt.Errorf("tar output needs a dest file, or \"-\" for stdout")
	}
	return writeFile(ctx, dest, out, func(w io.Writer) error {
		ts := newTarSink(w)
		if err := fill(ts); err != nil {
			return fmt.Errorf("write %s: %w", displayDest(dest), err)
		}
		if err := ts.tw.Close(); err != nil {
			return fmt.Errorf("write %s: %w", displayDest(dest), err)
		}
		return nil
	})
}

func displayDest(dest string) string {
	if dest == Stdout {
		return "stdout"
	}
	return filepath.Clean(dest)
}

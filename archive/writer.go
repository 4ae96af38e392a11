package archive

import (
	"archive/tar"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// Writer writes a deterministic layer tar: callers add entries in the
// order they want them (sorted by path for reproducible layers); Writer
// normalizes every header so that equal trees give equal bytes.
type Writer struct {
	tw    *tar.Writer
	epoch *time.Time
	index func(h *tar.Header)
}

// WriterOptions tune a Writer.
type WriterOptions struct {
	// Epoch, when set, clamps every mtime to at most Epoch
	// (SOURCE_DATE_EPOCH).
	Epoch *time.Time
	// Index, when set, is called with every header after normalization
	// and before it is written, so that a caller can record the layer's
	// metadata (snapshot.EntryOf) while writing it instead of reading
	// the tar again. It must not modify h: h is exactly what the layer
	// will hold.
	Index func(h *tar.Header)
}

// NewWriter returns a Writer over w.
func NewWriter(w io.Writer, o WriterOptions) *Writer {
	return &Writer{tw: tar.NewWriter(w), epoch: o.Epoch, index: o.Index}
}

// WriteHeader normalizes h and writes it; for a regular file the caller
// then writes exactly h.Size bytes with Write.
//
// Normalization: names are relative without a leading "./" or "/",
// directories end in "/", user and group names are dropped (numeric ids
// only, as BuildKit writes them), access and change times are dropped,
// mtimes are truncated to whole seconds and clamped to the epoch, and the
// PAX format is used only when a field needs it.
func (w *Writer) WriteHeader(h *tar.Header) error {
	n := *h
	n.Name = CleanName(n.Name)
	if n.Typeflag == tar.TypeLink {
		n.Linkname = CleanName(n.Linkname)
	}
	n.Uname, n.Gname = "", ""
	n.AccessTime, n.ChangeTime = time.Time{}, time.Time{}
	n.ModTime = n.ModTime.Truncate(time.Second)
	if w.epoch != nil && n.ModTime.After(*w.epoch) {
		n.ModTime = *w.epoch
	}
	if n.Typeflag == tar.TypeDir && len(n.Name) > 0 && n.Name[len(n.Name)-1] != '/' {
		n.Name += "/"
	}
	if n.Typeflag != tar.TypeReg {
		n.Size = 0
	}
	n.Format = tar.FormatUnknown
	if len(n.PAXRecords) > 0 {
		n.Format = tar.FormatPAX
	}
	if w.index != nil {
		w.index(&n)
	}
	if err := w.tw.WriteHeader(&n); err != nil {
		return fmt.Errorf("write tar header %s: %w", n.Name, err)
	}
	return nil
}

// CleanName returns a tar entry name in layer form: relative, cleaned,
// without "./" ("" for the root itself).
func CleanName(name string) string {
	c := path.Clean("/" + name)
	return strings.TrimPrefix(c, "/")
}

// Write writes file content for the last header.
func (w *Writer) Write(p []byte) (int, error) { return w.tw.Write(p) }

// ReadFrom copies a file's content for the last header.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) { return io.Copy(w.tw, r) }

// Close writes the tar footer. It does not close the underlying writer.
func (w *Writer) Close() error { return w.tw.Close() }

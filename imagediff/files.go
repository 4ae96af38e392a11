package imagediff

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// entry is what is compared of one tar entry.
type entry struct {
	typ     string
	content string // sha256 of a regular file's bytes
	size    int64
	mode    string
	owner   string
	link    string
	mtime   string
	xattrs  string
}

// fields are an entry's fields in the order a difference is named.
func (e entry) fields() [][2]string {
	return [][2]string{
		{"type", e.typ}, {"content", e.content}, {"size", fmt.Sprint(e.size)}, {"mode", e.mode},
		{"owner", e.owner}, {"link", e.link}, {"mtime", e.mtime}, {"xattrs", e.xattrs},
	}
}

// compareFiles returns the first entry (in path order) in which two
// layers differ.
func compareFiles(ctx context.Context, a, b v1.Layer) (*File, error) {
	ea, err := entries(ctx, a)
	if err != nil {
		return nil, err
	}
	eb, err := entries(ctx, b)
	if err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(ea))
	for n := range eb {
		if _, ok := ea[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		x, xok := ea[n]
		y, yok := eb[n]
		switch {
		case !yok:
			return &File{Path: n, Field: "presence", A: "only in the first image"}, nil
		case !xok:
			return &File{Path: n, Field: "presence", A: "only in the second image"}, nil
		}
		fx, fy := x.fields(), y.fields()
		for i := range fx {
			if fx[i][1] != fy[i][1] {
				return &File{Path: n, Field: fx[i][0], A: fx[i][1], B: fy[i][1]}, nil
			}
		}
	}
	return nil, nil
}

// entries reads a layer's tar: path → entry.
func entries(ctx context.Context, l v1.Layer) (map[string]entry, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	out := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read layer: %w", err)
		}
		e := entry{
			typ:   typeName(h.Typeflag),
			mode:  fmt.Sprintf("%04o", h.Mode&0o7777),
			owner: fmt.Sprintf("%d:%d", h.Uid, h.Gid),
			link:  h.Linkname,
			mtime: h.ModTime.UTC().Format(time.RFC3339Nano),
		}
		var xs []string
		for k, v := range h.PAXRecords {
			if strings.HasPrefix(k, "SCHILY.xattr.") {
				xs = append(xs, strings.TrimPrefix(k, "SCHILY.xattr.")+"="+fmt.Sprintf("%q", v))
			}
		}
		slices.Sort(xs)
		e.xattrs = strings.Join(xs, ",")
		if h.Typeflag == tar.TypeReg {
			sum := sha256.New()
			n, err := io.Copy(sum, tr)
			if err != nil {
				return nil, fmt.Errorf("read layer: %w", err)
			}
			e.size, e.content = n, fmt.Sprintf("sha256:%x", sum.Sum(nil))
		}
		out["/"+strings.TrimPrefix(path.Clean("/"+h.Name), "/")] = e
	}
}

func typeName(t byte) string {
	switch t {
	case tar.TypeReg:
		return "file"
	case tar.TypeDir:
		return "directory"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeChar:
		return "char device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "fifo"
	}
	return fmt.Sprintf("type %q", t)
}

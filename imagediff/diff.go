package imagediff

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Report is how two images differ: each part is nil when that part is the
// same. Config is the first differing config field; Layer the first layer
// whose content differs (or whose compressed blob does), File the first
// differing file of that layer.
type Report struct {
	Config *Field
	Layer  *Layer
	File   *File
	// Manifest is set when only the manifests differ (annotations, media
	// types): the first differing field.
	Manifest *Field
}

// Field is a differing JSON field.
type Field struct {
	Path string // ".config.Env[1]"
	A, B string // JSON values; "" when absent
}

// Layer is a differing layer.
type Layer struct {
	Index int    // 1-based, in the image's layer order
	Step  string // the history entry that made it (created_by), "" if unknown
	// A and B are the layers' diffIDs ("" when the image has no such
	// layer); Compressed says only the compressed blobs differ.
	A, B       string
	Compressed bool
}

// File is a differing entry of a layer.
type File struct {
	Path  string // "/etc/motd"
	Field string // presence, type, content, size, mode, owner, link, mtime, xattrs
	A, B  string
}

// Same says the images do not differ.
func (r *Report) Same() bool {
	return r.Config == nil && r.Layer == nil && r.File == nil && r.Manifest == nil
}

// String is the report as gorae diff prints it: one line per part, in
// order (config, layer, file).
func (r *Report) String() string {
	var b strings.Builder
	if r.Config != nil {
		fmt.Fprintf(&b, "config %s: %s != %s\n", r.Config.Path, orAbsent(r.Config.A), orAbsent(r.Config.B))
	}
	if l := r.Layer; l != nil {
		step := ""
		if l.Step != "" {
			step = " (" + l.Step + ")"
		}
		if l.Compressed {
			fmt.Fprintf(&b, "layer %d%s: same content, compressed blobs differ: %s != %s\n", l.Index, step, l.A, l.B)
		} else {
			fmt.Fprintf(&b, "layer %d%s: %s != %s\n", l.Index, step, orAbsent(l.A), orAbsent(l.B))
		}
	}
	if f := r.File; f != nil {
		if f.Field == "presence" {
			fmt.Fprintf(&b, "file %s: %s\n", f.Path, f.A)
		} else {
			fmt.Fprintf(&b, "file %s: %s %s != %s\n", f.Path, f.Field, orAbsent(f.A), orAbsent(f.B))
		}
	}
	if r.Manifest != nil {
		fmt.Fprintf(&b, "manifest %s: %s != %s\n", r.Manifest.Path, orAbsent(r.Manifest.A), orAbsent(r.Manifest.B))
	}
	return b.String()
}

func orAbsent(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

// Compare finds how a and b differ.
func Compare(ctx context.Context, a, b v1.Image) (*Report, error) {
	r := &Report{}
	da, err := a.Digest()
	if err != nil {
		return nil, err
	}
	db, err := b.Digest()
	if err != nil {
		return nil, err
	}
	if da == db {
		return r, nil
	}
	ca, err := a.RawConfigFile()
	if err != nil {
		return nil, err
	}
	cb, err := b.RawConfigFile()
	if err != nil {
		return nil, err
	}
	if p, va, vb, err := configDiff(ca, cb); err != nil {
		return nil, err
	} else if p != "" {
		r.Config = &Field{Path: p, A: va, B: vb}
	}
	if err := compareLayers(ctx, r, a, b); err != nil {
		return nil, err
	}
	if r.Same() {
		ma, err := a.RawManifest()
		if err != nil {
			return nil, err
		}
		mb, err := b.RawManifest()
		if err != nil {
			return nil, err
		}
		if p, va, vb, err := configDiff(ma, mb); err != nil {
			return nil, err
		} else if p != "" {
			r.Manifest = &Field{Path: p, A: va, B: vb}
		}
	}
	return r, nil
}

// compareLayers sets r.Layer to the first layer that differs, and r.File
// to the first differing file in it.
func compareLayers(ctx context.Context, r *Report, a, b v1.Image) error {
	la, err := a.Layers()
	if err != nil {
		return err
	}
	lb, err := b.Layers()
	if err != nil {
		return err
	}
	steps, err := layerSteps(a)
	if err != nil {
		return err
	}
	for i := range max(len(la), len(lb)) {
		l := &Layer{Index: i + 1}
		if i < len(steps) {
			l.Step = steps[i]
		}
		var x, y v1.Layer
		if i < len(la) {
			x = la[i]
			d, err := x.DiffID()
			if err != nil {
				return err
			}
			l.A = d.String()
		}
		if i < len(lb) {
			y = lb[i]
			d, err := y.DiffID()
			if err != nil {
				return err
			}
			l.B = d.String()
		}
		if l.A != l.B {
			r.Layer = l
			if x != nil && y != nil {
				f, err := compareFiles(ctx, x, y)
				if err != nil {
					return fmt.Errorf("layer %d: %w", i+1, err)
				}
				r.File = f
			}
			return nil
		}
		ga, err := x.Digest()
		if err != nil {
			return err
		}
		gb, err := y.Digest()
		if err != nil {
			return err
		}
		if ga != gb {
			l.A, l.B, l.Compressed = ga.String(), gb.String(), true
			r.Layer = l
			return nil
		}
	}
	return nil
}

// layerSteps are the created_by of the history entries that made a
// layer, in layer order.
func layerSteps(img v1.Image) ([]string, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, h := range cf.History {
		if !h.EmptyLayer {
			out = append(out, strings.TrimSuffix(h.CreatedBy, " # buildkit"))
		}
	}
	return out, nil
}

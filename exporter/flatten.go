package exporter

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The final filesystem of an image is computed in two streaming passes
// over its layers, so that no layer is ever held in memory or on disk:
//
//  1. read every layer's headers in order and apply them to a tree of
//     paths (whiteouts delete, opaque markers hide lower content, a later
//     entry replaces an earlier one), remembering for each surviving path
//     which layer entry last wrote it;
//  2. read the layers again and emit exactly the surviving entries, with
//     their content, in layer order.
//
// Memory is proportional to the number of paths, never to file sizes.

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// entryID names one tar entry: the seq-th header of layer layer.
type entryID struct{ layer, seq int }

type node struct {
	// explicit is false for a directory no layer has a header for.
	explicit bool
	id       entryID
	typ      byte
	// src is, for a hard link, the entry holding the linked content.
	src entryID
	// layer is the last layer that wrote or passed through this node; an
	// opaque marker in layer L hides the nodes below it with layer < L.
	layer    int
	children map[string]*node
}

func (n *node) isDir() bool { return !n.explicit || n.typ == tar.TypeDir }

type tree struct{ root *node }

// emit says how a surviving entry is written: under name, and for a hard
// link pointing at linkname.
type emit struct{ name, linkname string }

// cleanPath makes a tar name relative and clean, with no way up: "../x",
// "/x" and "./x" all become "x"; the root is ".".
func cleanPath(p string) string {
	p = path.Clean("/" + p)
	if p == "/" {
		return "."
	}
	return p[1:]
}

func (t *tree) lookup(p string) *node {
	n := t.root
	if p == "." {
		return n
	}
	for _, c := range strings.Split(p, "/") {
		if n.children == nil {
			return nil
		}
		if n = n.children[c]; n == nil {
			return nil
		}
	}
	return n
}

// parent returns the directory node that holds p, creating missing
// directories, and replacing any non-directory on the way (a later layer
// that writes below a path turns it back into a directory).
func (t *tree) parent(p string, layer int) (*node, string) {
	dir, base := path.Split(p)
	n := t.root
	n.layer = max(n.layer, layer)
	if dir == "" {
		return n, base
	}
	for _, c := range strings.Split(strings.TrimSuffix(dir, "/"), "/") {
		if n.children == nil {
			n.children = map[string]*node{}
		}
		child := n.children[c]
		if child == nil || !child.isDir() {
			child = &node{layer: layer}
			n.children[c] = child
		}
		child.layer = max(child.layer, layer)
		n = child
	}
	return n, base
}

func (t *tree) put(p string, nn *node) {
	if p == "." {
		if nn.typ == tar.TypeDir {
			t.root.explicit, t.root.id, t.root.typ = true, nn.id, nn.typ
		}
		return
	}
	dir, base := t.parent(p, nn.layer)
	if dir.children == nil {
		dir.children = map[string]*node{}
	}
	if old := dir.children[base]; old != nil && old.isDir() && nn.typ == tar.TypeDir {
		old.explicit, old.id, old.typ, old.layer = true, nn.id, nn.typ, nn.layer
		return
	}
	dir.children[base] = nn
}

func (t *tree) remove(p string) {
	if p == "." {
		return
	}
	dir, base := path.Split(p)
	if n := t.lookup(cleanPath(dir)); n != nil && n.children != nil {
		delete(n.children, base)
	}
}

// hideLower removes everything below n that came from a layer before
// layer, keeping what layer itself wrote.
func hideLower(n *node, layer int) {
	for name, c := range n.children {
		if c.layer < layer {
			delete(n.children, name)
			continue
		}
		hideLower(c, layer)
	}
}

// add applies one header of layer to the tree.
func (t *tree) add(h *tar.Header, id entryID) error {
	p := cleanPath(h.Name)
	dir, base := path.Split(p)
	switch {
	case h.Typeflag == tar.TypeXGlobalHeader:
	case base == opaqueMarker:
		n, _ := t.parent(p, id.layer)
		hideLower(n, id.layer)
	case strings.HasPrefix(base, whiteoutPrefix):
		t.remove(cleanPath(dir + base[len(whiteoutPrefix):]))
	case h.Typeflag == tar.TypeLink:
		target := cleanPath(h.Linkname)
		tn := t.lookup(target)
		if tn == nil || tn.isDir() {
			return fmt.Errorf("hard link %s points to %s, which is missing or a directory", p, h.Linkname)
		}
		src := tn.id
		if tn.typ == tar.TypeLink {
			src = tn.src
		}
		t.put(p, &node{explicit: true, id: id, typ: tar.TypeLink, src: src, layer: id.layer})
	default:
		t.put(p, &node{explicit: true, id: id, typ: h.Typeflag, layer: id.layer})
	}
	return nil
}

// plan walks the final tree and decides how each surviving entry is
// emitted, and which directories have no header at all.
//
// A hard link whose original has since been replaced or deleted still
// holds the original content, so the original entry is emitted under the
// first surviving link's name and the other links point there; the
// original precedes all its links in layer order, so every link is written
// after its target.
func (t *tree) plan() (map[entryID]emit, []string) {
	out := map[entryID]emit{}
	var implicit []string
	type link struct {
		path string
		id   entryID
	}
	links := map[entryID][]link{}
	var walk func(p string, n *node)
	walk = func(p string, n *node) {
		switch {
		case !n.explicit:
			if p != "." {
				implicit = append(implicit, p)
			}
		case n.typ == tar.TypeLink:
			links[n.src] = append(links[n.src], link{p, n.id})
		default:
			out[n.id] = emit{name: p}
		}
		names := make([]string, 0, len(n.children))
		for c := range n.children {
			names = append(names, c)
		}
		sort.Strings(names)
		for _, c := range names {
			walk(path.Join(p, c), n.children[c])
		}
	}
	walk(".", t.root)
	for src, ls := range links {
		sort.Slice(ls, func(i, j int) bool { return less(ls[i].id, ls[j].id) })
		target, ok := out[src]
		if !ok {
			target = emit{name: ls[0].path}
			out[src] = target
			ls = ls[1:]
		}
		for _, l := range ls {
			out[l.id] = emit{name: l.path, linkname: target.name}
		}
	}
	return out, implicit
}

func less(a, b entryID) bool {
	if a.layer != b.layer {
		return a.layer < b.layer
	}
	return a.seq < b.seq
}

// flatten streams the final filesystem of img to fn: first a header for
// each directory no layer describes, then the surviving entries of every
// layer in order. For a regular file, r yields its content.
func flatten(ctx context.Context, img v1.Image, fn func(h *tar.Header, r io.Reader) error) error {
	p, err := planImage(ctx, img)
	if err != nil {
		return err
	}
	return p.emit(ctx, fn)
}

// flatPlan is the first pass of flatten over one image: what survives,
// known before any content is read.
type flatPlan struct {
	layers   []v1.Layer
	tree     *tree
	out      map[entryID]emit
	implicit []string
}

// planImage reads the headers of img's layers and plans its final
// filesystem.
func planImage(ctx context.Context, img v1.Image) (*flatPlan, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	t := &tree{root: &node{}}
	for i, l := range layers {
		err := eachEntry(ctx, l, i, func(h *tar.Header, _ io.Reader, id entryID) error {
			return t.add(h, id)
		})
		if err != nil {
			return nil, err
		}
	}
	out, implicit := t.plan()
	return &flatPlan{layers: layers, tree: t, out: out, implicit: implicit}, nil
}

// emit is flatten's second pass: it streams the planned entries to fn.
func (p *flatPlan) emit(ctx context.Context, fn func(h *tar.Header, r io.Reader) error) error {
	for _, d := range p.implicit {
		if err := fn(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}, nil); err != nil {
			return err
		}
	}
	for i, l := range p.layers {
		err := eachEntry(ctx, l, i, func(h *tar.Header, r io.Reader, id entryID) error {
			e, ok := p.out[id]
			if !ok {
				return nil
			}
			n := *h
			n.Name = e.name
			if n.Typeflag == tar.TypeLink {
				n.Linkname = e.linkname
			}
			if n.Typeflag == tar.TypeRegA {
				n.Typeflag = tar.TypeReg
			}
			return fn(&n, r)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// walk calls fn for every path of the final filesystem but the root, in
// sorted order, saying whether it is a directory; it stops when fn
// returns false.
func (t *tree) walk(fn func(p string, dir bool) bool) {
	var visit func(p string, n *node) bool
	visit = func(p string, n *node) bool {
		names := make([]string, 0, len(n.children))
		for c := range n.children {
			names = append(names, c)
		}
		sort.Strings(names)
		for _, c := range names {
			cp, cn := path.Join(p, c), n.children[c]
			if !fn(cp, cn.isDir()) || !visit(cp, cn) {
				return false
			}
		}
		return true
	}
	visit("", t.root)
}

// eachEntry calls fn for every header of layer l, numbered from 0.
func eachEntry(ctx context.Context, l v1.Layer, layer int, fn func(h *tar.Header, r io.Reader, id entryID) error) error {
	d, err := l.Digest()
	if err != nil {
		return fmt.Errorf("digest layer %d: %w", layer, err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("open layer %s: %w", d, err)
	}
	defer rc.Close()
	tr := tar.NewReader(ctxReader{ctx, rc})
	for seq := 0; ; seq++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("read layer %s: %w", d, err)
		}
		if err := fn(h, tr, entryID{layer, seq}); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("layer %s: %w", d, err)
		}
	}
}

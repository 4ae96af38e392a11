package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/imagediff"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/store"
)

// NotReproducibleError is --verify-reproducible's finding: the second
// build differs from the first.
type NotReproducibleError struct {
	Platform string // "" for a single-platform build
	Report   *imagediff.Report
}

func (e *NotReproducibleError) Error() string {
	on := ""
	if e.Platform != "" {
		on = " (" + e.Platform + ")"
	}
	return fmt.Sprintf("not reproducible: a second build in a fresh root differs%s:\n%s", on, strings.TrimSuffix(e.Report.String(), "\n"))
}

// verify builds o again in a fresh temporary root (other paths, a later
// clock, no cache at all; the base images the first build used are
// copied in, so nothing is pulled) and compares the result with first,
// platform by platform.
//
// o carries the first build's context stat caches (sharedStats) and a
// time before which no RUN of the second build starts (notBefore): a
// second after the first build's last RUN, so that a command that writes
// the time differs.
func verify(ctx context.Context, r *root.Root, o Options, bases []*graph.Node, first *Result) error {
	st := o.Progress.Step("[internal] verify reproducible: build again in a fresh root")
	err := verifyIn(ctx, r, o, bases, first)
	var nr *NotReproducibleError
	if errors.As(err, &nr) {
		for _, l := range strings.Split(strings.TrimSuffix(nr.Report.String(), "\n"), "\n") {
			st.Logf("%s", l)
		}
	}
	st.End(err)
	return err
}

func verifyIn(ctx context.Context, r *root.Root, o Options, bases []*graph.Node, first *Result) error {
	dir, err := os.MkdirTemp(r.Tmp, "verify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	vr, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer vr.Close()
	if err := copyBases(ctx, r, vr, bases); err != nil {
		return fmt.Errorf("copy base images into the fresh root: %w", err)
	}
	quiet, err := progress.New(io.Discard, "quiet")
	if err != nil {
		return err
	}
	o2 := o
	o2.Tags, o2.Push, o2.Outputs, o2.IIDFile, o2.Metadata = nil, false, nil, "", ""
	o2.CacheTo, o2.CacheFrom, o2.Explain, o2.Pull, o2.VerifyReproducible = nil, nil, false, false, false
	o2.Attest = attest.Config{} // compared are the images: attestations differ by design
	o2.Progress = quiet
	second, err := Build(ctx, vr, o2)
	if err != nil {
		return fmt.Errorf("the second build failed: %w", err)
	}
	return compareResults(ctx, first, second)
}

// copyBases stores in to the base images bases name, from r: each as the
// name the Dockerfile used, a multi-platform image as its index with the
// platforms the build used.
func copyBases(ctx context.Context, r, to *root.Root, bases []*graph.Node) error {
	for _, n := range bases {
		op := n.Op.(graph.Image)
		img, _, err := r.Images.Image(ctx, op.Digest)
		if err != nil {
			return err
		}
		if _, err := name.ParseReference(op.Ref); err != nil {
			continue // an image build context or digest: found by digest
		}
		idx, _, err := r.Images.Index(ctx, op.Ref)
		switch {
		case err == nil:
			err = to.Images.ExportPlatform(ctx, idx, img, []string{op.Ref})
		case errors.Is(err, store.ErrNotIndex) || errors.Is(err, store.ErrNotFound):
			err = to.Images.Export(ctx, img, []string{op.Ref})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// compareResults compares two builds' images, each platform's of an
// index.
func compareResults(ctx context.Context, a, b *Result) error {
	if a.Index == nil {
		rep, err := imagediff.Compare(ctx, a.Image, b.Image)
		if err != nil {
			return err
		}
		if !rep.Same() {
			return &NotReproducibleError{Report: rep}
		}
		return nil
	}
	ia, err := a.Index.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range ia.Manifests {
		if d.Platform == nil || !d.MediaType.IsImage() {
			continue
		}
		x, err := a.Index.Image(d.Digest)
		if err != nil {
			return err
		}
		y, err := platformChild(b.Index, *d.Platform)
		if err != nil {
			return err
		}
		rep, err := imagediff.Compare(ctx, x, y)
		if err != nil {
			return err
		}
		if !rep.Same() {
			return &NotReproducibleError{Platform: images.FormatPlatform(*d.Platform), Report: rep}
		}
	}
	return nil
}

func platformChild(idx v1.ImageIndex, p v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if d, ok := store.MatchPlatform(im.Manifests, p); ok {
		return idx.Image(d.Digest)
	}
	return nil, fmt.Errorf("the second build has no %s image", images.FormatPlatform(p))
}

// baseImages are the distinct base image nodes under roots.
func baseImages(roots []*graph.Node) []*graph.Node {
	var out []*graph.Node
	seen := map[string]bool{}
	graph.Walk(roots, func(n *graph.Node) error {
		if op, ok := n.Op.(graph.Image); ok && !seen[op.Ref+"@"+op.Digest] {
			seen[op.Ref+"@"+op.Digest] = true
			out = append(out, n)
		}
		return nil
	})
	return out
}

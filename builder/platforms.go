package builder

import (
	"context"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/gorae/gorae/cache"
	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/root"
)

// convertPlatforms converts the Dockerfile once per target platform, all
// at once (each resolves its own base images). The graphs share every
// node whose definition does not depend on the target, such as a stage
// FROM --platform=$BUILDPLATFORM that declares no TARGET* arg: the solver
// then runs it once for all of them.
func convertPlatforms(ctx context.Context, fo frontend.Options, plats []v1.Platform) ([]*frontend.Result, error) {
	convs := make([]*frontend.Result, len(plats))
	g, ctx := errgroup.WithContext(ctx)
	for i, p := range plats {
		o := fo
		o.Platform, o.MultiPlatform = p, len(plats) > 1
		g.Go(func() error {
			r, err := frontend.Convert(ctx, o)
			convs[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return convs, nil
}

// noPlatform says whether the --platform values name none: no flag, or
// only blanks (an unset variable in --platform "$PLATFORM"). The target
// is then implicit: this machine's, and a final stage FROM --platform=X
// keeps X, as without the flag.
func noPlatform(values []string) bool {
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			if strings.TrimSpace(s) != "" {
				return false
			}
		}
	}
	return true
}

// platformRoots are the nodes every platform's image is made from: its
// final node (at first[i] in roots) followed by the nodes of its history
// entries.
func platformRoots(convs []*frontend.Result, scanStages bool) (roots []*graph.Node, first []int) {
	for _, c := range convs {
		first = append(first, len(roots))
		roots = append(roots, c.Root)
		for _, h := range c.History {
			if h.Node != nil {
				roots = append(roots, h.Node)
			}
		}
		if scanStages { // an SBOM describes them too: solved with the target
			for _, s := range c.ScanStages {
				roots = append(roots, s.Root)
			}
		}
	}
	return roots, first
}

// exportInput is a solved build, ready to become its image or index.
type exportInput struct {
	env    *ops.Env
	o      Options
	orig   Options                 // as given: --verify-reproducible builds it again
	stats  map[string]*cache.Stats // the context stat caches by directory
	tg     *targets
	bc     *buildCache
	convs  []*frontend.Result
	plats  []v1.Platform
	anns   indexAnnotations
	roots  []*graph.Node
	states []*ops.State
	first  []int
	att    *attestor // nil: no attestations
}

// export assembles each platform's image and hands the image, or the
// index of several, to the build's targets.
func export(ctx context.Context, r *root.Root, in exportInput) (*Result, error) {
	byNode := map[string]*ops.State{}
	for i, n := range in.roots {
		byNode[n.Digest()] = in.states[i]
	}
	imgs := make([]platformImage, len(in.convs))
	var err error
	for i, conv := range in.convs {
		solved := in.states[in.first[i]]
		final, err := restamped(ctx, r, in.env, solved, in.o.Epoch, namespace(in.bc.compression, in.o.Epoch))
		if err != nil {
			return nil, err
		}
		var img v1.Image
		img, err = assemble(r.Content, assembly{
			config: conv.Config, history: conv.History, final: final,
			states: byNode, docker: in.o.Docker, epoch: in.o.Epoch,
			annotations: in.anns.manifest[images.FormatPlatform(in.plats[i])],
		})
		if err == nil {
			img, err = in.bc.withCacheExtras(img, solved, in.o.CacheTo)
		}
		if err != nil {
			return nil, err
		}
		imgs[i] = platformImage{platform: in.plats[i], image: img}
	}
	if in.o.VerifyReproducible {
		// Before anything is stored, pushed or written; attestations
		// (their times differ by design) are no part of it.
		plain, err := built(imgs, in)
		if err != nil {
			return nil, err
		}
		o := in.orig
		o.sharedStats = in.stats
		if last := in.env.LastRun(); !last.IsZero() {
			// Every clock read of the first build's RUNs was in that
			// second or before: the second build's are in a later one.
			o.notBefore = last.Truncate(time.Second).Add(time.Second)
		}
		if err := verify(ctx, r, o, baseImages(in.roots), plain); err != nil {
			return nil, err
		}
	}
	if in.att != nil {
		if err := in.att.attach(ctx, in, imgs, byNode); err != nil {
			return nil, err
		}
	}
	res, err := built(imgs, in)
	if err != nil {
		return nil, err
	}
	if res.Index == nil {
		return finish(ctx, r, res.Image, in.tg, in.o)
	}
	return finishIndex(ctx, r, res.Index, imgs, in.tg, in.o)
}

// built is what a build made of imgs: the image of one platform without
// attestations, else the index of the images and their attestations.
func built(imgs []platformImage, in exportInput) (*Result, error) {
	if len(imgs) == 1 && imgs[0].attestation == nil {
		return &Result{Image: imgs[0].image}, nil
	}
	idx, err := makeIndex(imgs, in.o.Docker, in.anns)
	if err != nil {
		return nil, err
	}
	return &Result{Index: idx}, nil
}

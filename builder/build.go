package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/cache"
	"github.com/gorae/gorae/copier"
	"github.com/gorae/gorae/explain"
	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/gc"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/remotecache"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/runner"
	"github.com/gorae/gorae/solver"
)

// Result describes a finished build.
type Result struct {
	Image        v1.Image      // the image of a single-platform build
	Index        v1.ImageIndex // the index of a multi-platform build
	Digest       v1.Hash       // manifest (or index) digest
	ConfigDigest v1.Hash       // image id, as docker shows it; none for an index
	Names        []string
	// Executed counts the steps that ran; 0 means every step came from
	// a cache (gorae bake's "cached").
	Executed int
}

// Build runs one build on root.
func Build(ctx context.Context, root *root.Root, o Options) (*Result, error) {
	start := time.Now()
	unlock, err := root.Lock(ctx, false)
	if err != nil {
		return nil, err
	}
	unlock = sync.OnceFunc(unlock) // released early for automatic GC
	defer unlock()
	orig := o // --explain compares builds of the context as given
	if err := checkAttest(o); err != nil {
		return nil, err
	}
	o, srcs, err := remoteContexts(ctx, root, o)
	if err != nil {
		return nil, err
	}
	dockerfile, name, defStep, err := loadDockerfile(o)
	if err != nil {
		return nil, err
	}
	imported := startImport(ctx, o)
	defer imported() // a build that fails before importRemote still waits
	lint := &lintWarnings{p: o.Progress, step: defStep}
	defer lint.summary()
	excludes, err := loadExcludes(o)
	if err != nil {
		return nil, err
	}
	comp, err := archive.ParseCompression(o.Compression)
	if err != nil {
		return nil, badFlag(fmt.Errorf("invalid --compression: %w", err))
	}
	plats, err := images.ParsePlatforms(o.Platforms)
	if err != nil {
		return nil, badFlag(err)
	}
	anns, err := planIndexAnnotations(o.Annotations, plats, len(plats) > 1 || o.Attest.Any())
	if err != nil {
		return nil, err
	}
	tg, err := parseTargets(o, len(plats))
	if err != nil {
		return nil, badFlag(err)
	}
	fo, err := convertOptions(root, o, srcs.images, name, dockerfile, excludes, plats[0], len(plats) > 1)
	if err != nil {
		return nil, err
	}
	fo.Warn = lint.warn
	convs, err := convertPlatforms(ctx, fo, plats)
	lint.flush()
	if err != nil {
		return nil, err
	}
	if o.Epoch == nil && !o.WallClock {
		t := defaultEpoch(ctx, o.ContextDir, srcs.pins["context"].committed, fo.Resolver.(*stepResolver))
		o.Epoch = &t
	}
	contexts := map[string]string{"context": o.ContextDir}
	for k, v := range o.Contexts {
		contexts[k] = v
	}
	stats := map[string]*cache.Stats{}
	statsByDir := map[string]*cache.Stats{}
	for name, dir := range contexts {
		if st := o.sharedStats[dir]; st != nil {
			stats[name] = st // --verify-reproducible's second build: the first saves them
			continue
		}
		st, err := cache.OpenStats(filepath.Join(root.Dir, "statcache"), root.Tmp, dir)
		if err != nil {
			return nil, err
		}
		stats[name], statsByDir[dir] = st, st
	}
	saveStats := func() {
		for _, st := range statsByDir {
			if err := st.Save(); err != nil {
				o.Progress.Warnf("%v", err)
			}
		}
	}
	defer saveStats()
	allow := map[string]bool{}
	for _, a := range o.Allow {
		allow[a] = true
	}
	env := &ops.Env{Stats: stats, Runner: &runner.Runner{Notes: once(o.Progress.Warnf)}, Allow: allow,
		Root: root.Dir, Tmp: root.Tmp, Mounts: filepath.Join(root.Dir, "mounts"), Output: o.Progress.Output, Transfer: o.Progress.Transfer, Warn: o.Progress.Warnf,
		Content: root.Content, Snapshots: root.Snapshots, Images: root.Images,
		Registry: o.Registry, Contexts: contexts, Compression: comp,
		Docker: o.Docker, Jobs: o.Jobs, Epoch: o.Epoch,
		Secrets: o.Secrets, SSH: o.SSH, Outside: root.Outside, Isolation: o.Isolation,
		Git: gitClient(root, o), ShareLayers: len(plats) > 1, NotBefore: o.notBefore,
	}
	defer env.Close()
	att := newAttestor(attestInput{orig: orig, o: o, started: start, file: name, src: dockerfile, pins: srcs.pins, env: env, root: root})
	roots, first := platformRoots(convs, o.Attest.SBOM != nil)
	vs, err := env.Vertices(roots)
	if err != nil {
		return nil, err
	}
	filter, err := noCacheStages(o.NoCacheFilter, convs[0].Names)
	if err != nil {
		return nil, err
	}
	xo := explain.Options{
		RootDir: root.Dir, Tmp: root.Tmp, Target: explainTarget(orig),
		Namespace: namespace(comp, o.Epoch), NoCache: o.NoCache, Why: markNoCache(filter, roots, vs),
	}
	if o.Explain && o.Progress != nil {
		xo.Print = o.Progress.Explain
	}
	xp := explain.New(xo, roots, vs)
	bc := &buildCache{root: root, noCache: o.NoCache, compression: comp, epoch: o.Epoch, mountIDs: remotecache.MountIDs(roots)}
	env.SeedCacheMount = bc.seedMount(o.Progress)
	defer bc.importRemote(ctx, o, imported)()
	var states []*ops.State
	var out *Result
	var executed int
	events := countExecuted(&executed, xp.Events(o.Progress.Event))
	for { // again only when a --cache-from blob proved corrupt (bc.retry)
		// Once the keys are known, the context's digests are saved and
		// their memory freed before any step runs.
		keys := func(k []solver.Key) { bc.setKeys(k); saveStats() }
		states, err = solver.Solve(ctx, vs, bc, solver.Options{Jobs: stepSlots(o.Jobs), Slots: o.Slots, Events: events, Keys: keys})
		if err == nil {
			o.executed = executed
			exp := o.Progress.Step("exporting to image")
			out, err = export(ctx, root, exportInput{env: env, o: o, orig: orig, stats: statsByDir, tg: tg, bc: bc, convs: convs, plats: plats, anns: anns, roots: roots, states: states, first: first, att: att})
			exp.End(err)
		}
		if !bc.retry(err, o.Progress.Warnf) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	finals := make([]*ops.State, len(first))
	for i, f := range first {
		finals[i] = states[f]
	}
	if err := exportCaches(ctx, root, o, bc, finals); err != nil {
		return nil, err
	}
	if err := xp.Save(); err != nil {
		o.Progress.Warnf("%v (gorae build --explain will compare with an older build)", err)
	}
	lint.summary()
	o.Progress.Logf("built %s in %.1fs", out.Digest, time.Since(start).Seconds())
	// Automatic GC needs the lock exclusively; the image is named now.
	// Outside its user namespace, a rootless gorae cannot remove the
	// files of subordinate ids: its next build inside does it.
	unlock()
	if !root.Outside && !o.NoAutoGC {
		gc.Auto(ctx, root, o.Progress)
	}
	return out, nil
}

func readDockerfile(o Options) ([]byte, string, error) {
	if o.Dockerfile == "-" {
		if o.Stdin == nil {
			return nil, "", errors.New("-f -: no standard input to read the Dockerfile from")
		}
		b, err := io.ReadAll(o.Stdin)
		if err != nil {
			return nil, "", fmt.Errorf("read Dockerfile from standard input: %w", err)
		}
		return b, "Dockerfile", nil
	}
	p := o.Dockerfile
	if p == "" {
		p = filepath.Join(o.ContextDir, "Dockerfile")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", fmt.Errorf("no Dockerfile at %s: create one or name it with -f", p)
		}
		return nil, "", fmt.Errorf("read Dockerfile: %w", err)
	}
	return b, filepath.Base(p), nil
}

// readExcludes reads NAME.dockerignore beside the Dockerfile if it
// exists, else .dockerignore at the context root, as BuildKit does; it
// returns the patterns and the file's size (0 when there is none).
func readExcludes(o Options) ([]string, int, error) {
	candidates := []string{}
	if o.Dockerfile != "" && o.Dockerfile != "-" {
		candidates = append(candidates, o.Dockerfile+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(o.ContextDir, ".dockerignore"))
	return copier.ReadIgnoreFile(candidates...)
}

// stepSlots is how many steps may execute at once. RUN steps mostly wait
// (on the network, on sleep, on I/O), so the default is not the number of
// CPUs: like BuildKit, gorae runs independent stages together, and CPU-heavy
// work (compression) is bounded by its own worker pools.
func stepSlots(jobs int) int {
	if jobs > 0 {
		return jobs
	}
	return 16
}

// explainTarget is what --explain compares a build with: the last build
// of the same context, Dockerfile, --target and platform.
func explainTarget(o Options) explain.Target {
	// Normalized, so that linux/arm64/v8 and linux/arm64, or a list
	// given as one flag or repeated, are the same target.
	platform := strings.Join(o.Platforms, ",")
	if plats, err := images.ParsePlatforms(o.Platforms); err == nil {
		names := make([]string, len(plats))
		for i, p := range plats {
			names[i] = images.FormatPlatform(p)
		}
		platform = strings.Join(names, ",")
	}
	return explain.Target{ContextDir: o.ContextDir, Dockerfile: o.Dockerfile, Stage: o.Target, Platform: platform}
}

// once returns a note function that passes each distinct note to warn
// once: every RUN of a build takes the same sandbox fallbacks.
func once(warn func(string, ...any)) func(string) {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		if !seen[msg] {
			seen[msg] = true
			warn("%s", msg)
		}
	}
}

// convertOptions are the frontend options for o's Dockerfile (src, named
// name), with the base image resolver of a build (image build contexts
// first): what a build and `--call check` convert alike.
func convertOptions(r *root.Root, o Options, imageCtx map[string]string, name string, src []byte, excludes []string, platform v1.Platform, multi bool) (frontend.Options, error) {
	res, err := newImageContexts(&images.Resolver{Root: r, Registry: o.Registry, Pull: o.Pull, Lazy: true, Progress: o.Progress, Outside: r.Outside}, r, imageCtx)
	if err != nil {
		return frontend.Options{}, err
	}
	named := map[string]bool{}
	for k := range o.Contexts {
		named[k] = true
	}
	return frontend.Options{
		File: name, Source: src, BuildArgs: o.BuildArgs, Target: o.Target,
		Platform: platform, PlatformImplicit: noPlatform(o.Platforms), BuildPlatform: images.HostPlatform(), Excludes: excludes,
		Contexts: named, Labels: o.Labels, Resolver: newStepResolver(res, o.Progress, multi), Run: o.Run,
	}, nil
}

package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/cache"
	"github.com/gorae/gorae/copier"
	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/runner"
	"github.com/gorae/gorae/solver"
)

// Result describes a finished build.
type Result struct {
	Image        v1.Image
	Digest       v1.Hash // manifest digest
	ConfigDigest v1.Hash // image id, as docker shows it
	Names        []string
}

// Build runs one build on root.
func Build(ctx context.Context, root *Root, o Options) (*Result, error) {
	start := time.Now()
	unlock, err := root.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	unlock = sync.OnceFunc(unlock) // released early for automatic GC
	defer unlock()
	dockerfile, name, err := readDockerfile(o)
	if err != nil {
		return nil, err
	}
	excludes, err := readExcludes(o)
	if err != nil {
		return nil, err
	}
	comp, err := archive.ParseCompression(o.Compression)
	if err != nil {
		return nil, fmt.Errorf("invalid --compression: %w", err)
	}
	platform, err := parsePlatform(o.Platform)
	if err != nil {
		return nil, err
	}
	tg, err := parseTargets(o)
	if err != nil {
		return nil, err
	}
	res := &resolver{root: root, registry: o.Registry, pull: o.Pull, progress: o.Progress}
	named := map[string]bool{}
	for k := range o.Contexts {
		named[k] = true
	}
	conv, err := frontend.Convert(ctx, frontend.Options{
		File: name, Source: dockerfile, BuildArgs: o.BuildArgs, Target: o.Target,
		Platform: platform, PlatformImplicit: o.Platform == "", BuildPlatform: hostPlatform(), Excludes: excludes,
		Contexts: named, Labels: o.Labels, Resolver: res,
		Warn: func(w frontend.Warning) {
			if w.Line > 0 {
				o.Progress.Warnf("%s:%d: %s", w.File, w.Line, w.Msg)
			} else {
				o.Progress.Warnf("%s", w.Msg)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	contexts := map[string]string{"context": o.ContextDir}
	for k, v := range o.Contexts {
		contexts[k] = v
	}
	stats := map[string]*cache.Stats{}
	for name, dir := range contexts {
		st, err := cache.OpenStats(filepath.Join(root.Dir, "statcache"), root.Tmp, dir)
		if err != nil {
			return nil, err
		}
		stats[name] = st
	}
	defer func() {
		for _, st := range stats {
			if err := st.Save(); err != nil {
				o.Progress.Warnf("%v", err)
			}
		}
	}()
	allow := map[string]bool{}
	for _, a := range o.Allow {
		allow[a] = true
	}
	env := &ops.Env{Stats: stats, Runner: &runner.Runner{}, Allow: allow,
		Tmp: root.Tmp, Mounts: filepath.Join(root.Dir, "mounts"), Output: o.Progress.Output, Transfer: o.Progress.Transfer,
		Content: root.Content, Snapshots: root.Snapshots, Images: root.Images,
		Registry: o.Registry, Contexts: contexts, Compression: comp,
		Docker: o.Docker, Jobs: o.Jobs, Epoch: o.Epoch,
		Secrets: o.Secrets, SSH: o.SSH,
	}
	defer env.Close()
	roots := []*graph.Node{conv.Root}
	for _, h := range conv.History {
		if h.Node != nil {
			roots = append(roots, h.Node)
		}
	}
	vs, err := env.Vertices(roots)
	if err != nil {
		return nil, err
	}
	filter, err := noCacheStages(o.NoCacheFilter, conv.Names)
	if err != nil {
		return nil, err
	}
	xp := newExplainer(root, o, roots, vs, comp)
	xp.why = markNoCache(filter, roots, vs)
	bc := &buildCache{root: root, noCache: o.NoCache, compression: comp, epoch: o.Epoch}
	bc.mountIDs, env.SeedCacheMount = cacheMountIDs(roots), bc.seedMount(o.Progress, o.Progress.Logf, o.Progress.Warnf)
	defer bc.importRemote(ctx, o)()
	var states []*ops.State
	var out *Result
	for { // again only when a --cache-from blob proved corrupt (bc.retry)
		states, err = solver.Solve(ctx, vs, bc, solver.Options{Jobs: stepSlots(o.Jobs), Events: xp.events(o.Progress.Event), Keys: bc.setKeys})
		if err == nil {
			byNode := map[string]*ops.State{}
			for i, n := range roots {
				byNode[n.Digest()] = states[i]
			}
			var img v1.Image
			img, err = assemble(root.Content, assembly{
				config: conv.Config, history: conv.History, final: states[0],
				states: byNode, docker: o.Docker, epoch: o.Epoch,
			})
			if err == nil {
				img, err = bc.withCacheExtras(img, states[0], o.CacheTo)
			}
			if err == nil {
				out, err = finish(ctx, root, img, tg, o)
			}
		}
		if !bc.retry(err, o.Progress.Warnf) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if err := exportCaches(ctx, root, o, bc, states[0]); err != nil {
		return nil, err
	}
	if err := xp.save(); err != nil {
		o.Progress.Warnf("%v (gorae build --explain will compare with an older build)", err)
	}
	o.Progress.Logf("built %s in %.1fs", out.Digest, time.Since(start).Seconds())
	unlock() // automatic GC needs the lock exclusively; the image is named now
	autoGC(ctx, root, o.Progress)
	return out, nil
}

// buildCache adapts the persistent cache to the solver: directory states
// (contexts, downloads) are never stored, and --no-cache loads nothing
// but still records what it built. Records are kept apart per layer
// compression, since a record names compressed blobs.
//
// SOURCE_DATE_EPOCH changes file times and created dates, so records made
// with one epoch (or none) are kept apart from records made with another.
type buildCache struct {
	root        *Root
	noCache     bool
	compression archive.Compression
	epoch       *time.Time
	remote      *remoteCache // --cache-from records; nil without
	mountIDs    []string     // ids of the RUN cache mounts in the graph, for cache-mounts=true

	mu   sync.Mutex
	seen map[string]*ops.State // salted key hex → record used, for --cache-to
	keys []solver.Key          // every step's key (unsalted), for mode=max
}

func (c *buildCache) key(k solver.Key) solver.Key {
	if c.compression == archive.Gzip && c.epoch == nil {
		return k
	}
	variant := "compression=" + c.compression.String()
	if c.epoch != nil {
		variant += fmt.Sprintf(" epoch=%d", c.epoch.Unix())
	}
	return solver.ComputeKey(k, []solver.Key{sha256.Sum256([]byte(variant))})
}

func (c *buildCache) Load(ctx context.Context, k solver.Key) (*ops.State, bool, error) {
	if c.noCache {
		return nil, false, nil
	}
	sk := c.key(k)
	s, ok, err := c.root.Cache.Load(ctx, sk)
	if err == nil && !ok {
		if s, ok = c.loadRemote(sk); ok {
			// Kept locally too: once its blobs are local or lazy, a
			// later build without --cache-from finds it.
			err = c.root.Cache.Save(ctx, sk, s)
		}
	}
	if ok {
		c.note(sk, s)
	}
	return s, ok, err
}

func (c *buildCache) Save(ctx context.Context, k solver.Key, s *ops.State) error {
	if s.Dir != nil {
		return nil
	}
	c.note(c.key(k), s)
	return c.root.Cache.Save(ctx, c.key(k), s)
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
// exists, else .dockerignore at the context root, as BuildKit does.
func readExcludes(o Options) ([]string, error) {
	candidates := []string{}
	if o.Dockerfile != "" && o.Dockerfile != "-" {
		candidates = append(candidates, o.Dockerfile+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(o.ContextDir, ".dockerignore"))
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		ex, err := copier.ReadDockerignore(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return ex, nil
	}
	return nil, nil
}

func hostPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

func parsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		return hostPlatform(), nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("invalid --platform %q: use os/arch[/variant], e.g. linux/amd64", s)
	}
	return *p, nil
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

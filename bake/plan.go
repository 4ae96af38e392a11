package bake

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gorae/gorae/bakefile"
	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/registry"
)

// Graph is the targets of one bake with their dependencies, every
// dependency before its dependents.
type Graph struct {
	Targets []*bakefile.Target
	deps    map[string][]edge
	index   map[string]int
}

// edge says target name uses target dep: as the build context ctx (a
// contexts key, or the image name its FROM gives).
type edge struct {
	ctx, dep string
	why      string // for cycle errors: how the dependency arises
}

// Deps are the names of the targets t depends on.
func (g *Graph) Deps(t string) []string {
	var out []string
	for _, e := range g.deps[t] {
		out = append(out, e.dep)
	}
	return out
}

// Plan finds the dependencies between cfg's targets: a context
// "target:NAME" (Compose's "service:NAME" becomes one), and a FROM in a
// target's Dockerfile naming an image another target is tagged as (the
// other target is then built first and its result replaces that FROM).
// A cycle is an error naming its path.
func Plan(cfg *bakefile.Config) (*Graph, error) {
	g := &Graph{deps: map[string][]edge{}, index: map[string]int{}}
	names := make([]string, 0, len(cfg.Targets))
	for n := range cfg.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	tagged := map[string][]string{} // normalized tag → the targets tagged so
	for _, n := range names {
		for _, tag := range Names(cfg.Targets[n]) {
			if norm, err := registry.Normalize(tag); err == nil && !slices.Contains(tagged[norm], n) {
				tagged[norm] = append(tagged[norm], n)
			}
		}
	}
	for _, n := range names {
		t := cfg.Targets[n]
		ctxNames := make([]string, 0, len(t.Contexts))
		for k := range t.Contexts {
			ctxNames = append(ctxNames, k)
		}
		sort.Strings(ctxNames)
		for _, k := range ctxNames {
			dep, ok := strings.CutPrefix(t.Contexts[k], "target:")
			if !ok {
				continue
			}
			if _, known := cfg.Targets[dep]; !known {
				return nil, fmt.Errorf("target %q: context %s=target:%s names no target of this bake (known: %s)", n, k, dep, strings.Join(names, ", "))
			}
			g.deps[n] = append(g.deps[n], edge{ctx: k, dep: dep, why: fmt.Sprintf("context %s=target:%s", k, dep)})
		}
		file, bases, err := baseImages(t)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", n, err)
		}
		for _, b := range bases {
			norm, err := registry.Normalize(b.Ref)
			if err != nil {
				continue // "golang:" of an unset ARG: not a name, the build says so
			}
			deps := slices.DeleteFunc(slices.Clone(tagged[norm]), func(d string) bool { return d == n })
			if len(deps) > 1 {
				// A test target inheriting app's tags is built for its
				// dependents only (cacheonly): the FROM means app.
				if images := slices.DeleteFunc(slices.Clone(deps), func(d string) bool { return CacheOnly(cfg.Targets[d]) }); len(images) > 0 {
					deps = images
				}
			}
			if len(deps) == 0 || slices.ContainsFunc(g.deps[n], func(e edge) bool { return e.ctx == b.Ref }) {
				continue
			}
			if _, named := t.Contexts[b.Ref]; named {
				continue // the target's own contexts entry decides what FROM gets
			}
			if len(deps) > 1 {
				return nil, fmt.Errorf("target %q: %s:%d: FROM %s is the tag of targets %s: give each image its own tag, or name the one to use in the target's contexts (%s = \"target:NAME\")",
					n, file, b.Line, b.Ref, strings.Join(deps, " and "), b.Ref)
			}
			g.deps[n] = append(g.deps[n], edge{ctx: b.Ref, dep: deps[0], why: fmt.Sprintf("%s:%d: FROM %s is %s's tag", file, b.Line, b.Ref, deps[0])})
		}
	}
	if err := g.order(cfg, names); err != nil {
		return nil, err
	}
	return g, nil
}

// order sorts the targets dependencies first (depth-first, names in
// order), failing on a cycle with its path.
func (g *Graph) order(cfg *bakefile.Config, names []string) error {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var path []edge
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case done:
			return nil
		case visiting:
			return cycleError(n, path)
		}
		state[n] = visiting
		for _, e := range g.deps[n] {
			path = append(path, edge{ctx: n, dep: e.dep, why: e.why})
			if err := visit(e.dep); err != nil {
				return err
			}
			path = path[:len(path)-1]
		}
		state[n] = done
		g.index[n] = len(g.Targets)
		g.Targets = append(g.Targets, cfg.Targets[n])
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return err
		}
	}
	return nil
}

// cycleError names the cycle that reaches n again: the part of path
// from n's first appearance.
func cycleError(n string, path []edge) error {
	start := slices.IndexFunc(path, func(e edge) bool { return e.ctx == n })
	loop := path[start:]
	names := []string{n}
	var whys []string
	for _, e := range loop {
		names = append(names, e.dep)
		whys = append(whys, fmt.Sprintf("%s: %s", e.ctx, e.why))
	}
	return fmt.Errorf("dependency cycle: %s (%s): a target cannot be built from its own result", strings.Join(names, " -> "), strings.Join(whys, "; "))
}

// baseImages reads the FROM images of t's Dockerfile. A remote context
// or Dockerfile (a URL) is not read here: its FROM lines create no
// dependency.
func baseImages(t *bakefile.Target) (string, []frontend.BaseImage, error) {
	src := []byte(t.DockerfileInline)
	name := "dockerfile-inline"
	if t.DockerfileInline == "" {
		if remote(t.Context) || remote(t.Dockerfile) {
			return "", nil, nil
		}
		p := dockerfilePath(t)
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			return "", nil, nil // the build itself says which file is missing, where
		}
		if err != nil {
			return "", nil, fmt.Errorf("read Dockerfile: %w", err)
		}
		src, name = b, p
	}
	bases, err := frontend.BaseImages(name, src, t.Args)
	return name, bases, err
}

// dockerfilePath is where t's Dockerfile is: relative to its context
// unless absolute, as buildx reads it.
func dockerfilePath(t *bakefile.Target) string {
	df := t.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if filepath.IsAbs(df) {
		return df
	}
	ctx := t.Context
	if ctx == "" {
		ctx = "."
	}
	return filepath.Join(ctx, df)
}

// remote says whether a context or Dockerfile is a URL rather than a path.
func remote(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@")
}

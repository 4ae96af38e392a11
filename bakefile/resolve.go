package bakefile

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Options are what Load needs besides the files.
type Options struct {
	// Env is the variables' environment (bake variables, Compose
	// interpolation); nil means the process environment.
	Env map[string]string
	// Dir is the directory relative contexts are relative to (usually the
	// working directory); Compose's .env is read there too. A Compose
	// file in another directory has its contexts rebased onto its own
	// directory, so every Context is relative to Dir.
	Dir string
	// Overrides are --set values: PATTERN.KEY=VALUE or PATTERN.KEY+=VALUE.
	Overrides []string
}

// Config is what one `gorae bake` builds: the resolved targets (requested
// ones and those their target: contexts need) and the groups involved, as
// `--print` shows them.
type Config struct {
	Targets map[string]*Target
	Groups  map[string]*Group
	// Requested is the requested targets (groups expanded), in the order
	// they were named, each once; targets only linked by contexts are not
	// in it.
	Requested []string
}

// Load parses and merges the files, applies the --set overrides, and
// resolves the requested targets and groups (none means "default").
func Load(files []File, requested []string, o Options) (*Config, error) {
	c, err := parseFiles(files, o)
	if err != nil {
		return nil, err
	}
	if len(requested) == 0 {
		requested = []string{"default"}
	}
	var names []string
	for _, r := range requested {
		m, err := c.matchNames(strings.ReplaceAll(r, ".", "_"))
		if err != nil {
			return nil, err
		}
		names = append(names, m...)
	}
	names = dedupe(names)
	ovr, err := parseOverrides(c, o.Overrides, envLookup(o))
	if err != nil {
		return nil, err
	}
	r := &resolver{c: c, ovr: ovr, done: map[string]*partial{}}
	out := &Config{Targets: map[string]*Target{}, Groups: map[string]*Group{}}
	for _, n := range names {
		ts, gs, err := c.resolveGroup(n, nil)
		if err != nil {
			return nil, err
		}
		for _, tn := range ts {
			pt, err := r.resolve(tn, nil)
			if err != nil {
				if len(gs) > 0 {
					return nil, fmt.Errorf("group %q: %w", n, err)
				}
				return nil, err
			}
			out.Targets[tn] = finalize(pt)
			out.Requested = append(out.Requested, tn)
		}
		for _, gn := range gs {
			g := *c.group(gn)
			g.Targets = slices.Clone(g.Targets)
			out.Groups[gn] = &g
		}
	}
	out.Requested = dedupe(out.Requested)
	// As buildx: the default group lists what was asked for, unless
	// "default" itself was asked for and is a group.
	for _, n := range names {
		if _, ok := out.Groups["default"]; ok && n == "default" {
			continue
		}
		if out.Groups["default"] == nil {
			out.Groups["default"] = &Group{Name: "default"}
		}
		out.Groups["default"].Targets = append(out.Groups["default"].Targets, n)
	}
	if g := out.Groups["default"]; g != nil {
		g.Targets = dedupe(g.Targets)
		slices.Sort(g.Targets)
	}
	for _, n := range sortedKeys(out.Targets) {
		if err := r.link(n, out, []string{n}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// matchNames expands a requested name with * ? or [ over groups and
// targets; a plain name is kept as it is (resolved later).
func (c *config) matchNames(pattern string) ([]string, error) {
	if !strings.ContainsAny(pattern, "*?[]") {
		return []string{pattern}, nil
	}
	var names []string
	for _, g := range c.groups {
		if ok, _ := path.Match(pattern, g.Name); ok {
			names = append(names, g.Name)
		}
	}
	for _, t := range c.targets {
		if ok, _ := path.Match(pattern, t.t.Name); ok {
			names = append(names, t.t.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no target or group matches %q (%s)", pattern, c.knownNames())
	}
	return names, nil
}

// resolveGroup expands a group (recursively) into its targets, and lists
// the groups it went through; a name that is no group is a target.
func (c *config) resolveGroup(name string, path []string) (targets, groups []string, err error) {
	g := c.group(name)
	if g == nil {
		return []string{name}, nil, nil
	}
	if slices.Contains(path, name) {
		// As buildx: a name met again inside its own group is a target
		// (Compose's default group may list a service named "default").
		return []string{name}, nil, nil
	}
	path = append(path, name)
	groups = []string{name}
	for _, t := range g.Targets {
		ts, gs, err := c.resolveGroup(t, path)
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, ts...)
		groups = append(groups, gs...)
	}
	return dedupe(targets), dedupe(groups), nil
}

type resolver struct {
	c    *config
	ovr  map[string]map[string]*override
	done map[string]*partial
}

// resolve is one target with its inherits applied (parents in order,
// each resolved with its own overrides, then the target's own
// attributes), then its overrides.
func (r *resolver) resolve(name string, chain []string) (*partial, error) {
	if i := slices.Index(chain, name); i >= 0 {
		return nil, fmt.Errorf("inherits cycle: %s -> %s", strings.Join(chain[i:], " -> "), name)
	}
	if pt, ok := r.done[name]; ok {
		return pt.clone(), nil
	}
	raw := r.c.target(name)
	if raw == nil {
		if len(chain) > 0 {
			return nil, fmt.Errorf("target %q inherits %q, which is not defined (%s)", chain[len(chain)-1], name, r.c.knownNames())
		}
		return nil, fmt.Errorf("failed to find target %q: no target or group of that name (%s)", name, r.c.knownNames())
	}
	chain = append(chain, name)
	parents := newPartial(name)
	for _, pn := range raw.inherits {
		pp, err := r.resolve(pn, chain)
		if err != nil {
			return nil, err
		}
		parents.merge(pp)
	}
	pt := newPartial(name)
	pt.merge(parents)
	pt.merge(raw)
	pt.inherits = nil
	pt.apply(r.ovr[name])
	pt.normalize()
	r.done[name] = pt
	return pt.clone(), nil
}

// finalize fills buildx's defaults: context "." and dockerfile
// "Dockerfile".
func finalize(pt *partial) *Target {
	t := pt.t
	if !pt.set["context"] {
		t.Context = "."
	}
	if t.Dockerfile == "" {
		t.Dockerfile = "Dockerfile"
	}
	return &t
}

// link adds the targets that target: contexts name, recursively; a
// target only built for another's context outputs to the cache only.
func (r *resolver) link(name string, out *Config, chain []string) error {
	t := out.Targets[name]
	for _, k := range sortedKeys(t.Contexts) {
		dep, ok := strings.CutPrefix(t.Contexts[k], "target:")
		if !ok {
			continue
		}
		if i := slices.Index(chain, dep); i >= 0 {
			return fmt.Errorf("target: context cycle: %s -> %s", strings.Join(chain[i:], " -> "), dep)
		}
		dt, ok := out.Targets[dep]
		if !ok {
			if r.c.target(dep) == nil {
				return fmt.Errorf("target %q: context %q is target:%s, which is not defined (%s)", name, k, dep, r.c.knownNames())
			}
			pt, err := r.resolve(dep, nil)
			if err != nil {
				return fmt.Errorf("target %q: context %q: %w", name, k, err)
			}
			dt = finalize(pt)
			dt.Outputs = []string{"type=cacheonly"}
			out.Targets[dep] = dt
		}
		if err := r.link(dep, out, append(chain, dep)); err != nil {
			return err
		}
		for _, e := range dt.Entitlements {
			if !slices.Contains(t.Entitlements, e) {
				t.Entitlements = append(t.Entitlements, e)
			}
		}
		if len(t.Platforms) > 1 && len(dt.Platforms) > 1 {
			for _, p := range t.Platforms {
				if !slices.Contains(dt.Platforms, p) {
					return fmt.Errorf("target %s can't be used by %s because its platforms %v are not a subset of %v", dep, name, t.Platforms, dt.Platforms)
				}
			}
		}
	}
	return nil
}

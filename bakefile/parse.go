package bakefile

import (
	"os"
	"slices"
	"strings"
)

// config is every target and group the files declare, in declaration
// order (Compose services first, then bake files' blocks), before
// inherits, overrides and defaults are applied.
type config struct {
	targets []*partial
	groups  []*Group
	vars    []listedVar
}

type listedVar struct {
	Name, Type, Description string
	Value                   *string
}

func (c *config) target(name string) *partial {
	for _, t := range c.targets {
		if t.t.Name == name {
			return t
		}
	}
	return nil
}

func (c *config) group(name string) *Group {
	for _, g := range c.groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// addTarget merges pt into the target of the same name, or appends it.
func (c *config) addTarget(pt *partial) {
	if t := c.target(pt.t.Name); t != nil {
		t.merge(pt)
		return
	}
	c.targets = append(c.targets, pt)
}

// addGroup replaces a group of the same name (buildx keeps the last
// declaration of a group), or appends it.
func (c *config) addGroup(g *Group) {
	for i, old := range c.groups {
		if old.Name == g.Name {
			c.groups[i] = g
			return
		}
	}
	c.groups = append(c.groups, g)
}

func envLookup(o Options) func(string) (string, bool) {
	if o.Env != nil {
		return func(k string) (string, bool) { v, ok := o.Env[k]; return v, ok }
	}
	return os.LookupEnv
}

// isCompose decides as buildx does: .yml/.yaml are Compose, .json/.hcl
// are bake files, and any other name is Compose if it loads as Compose.
func isCompose(f File, o Options) bool {
	n := strings.ToLower(f.Name)
	switch {
	case strings.HasSuffix(n, ".yml"), strings.HasSuffix(n, ".yaml"):
		return true
	case strings.HasSuffix(n, ".json"), strings.HasSuffix(n, ".hcl"):
		return false
	}
	_, err := loadCompose([]File{f}, o)
	return err == nil
}

// parseFiles reads every file into one config: Compose files load
// together as one project, then the bake files' declarations merge over
// them in order.
func parseFiles(files []File, o Options) (*config, error) {
	c := &config{}
	var composeFiles, bakeFiles []File
	for _, f := range files {
		if isCompose(f, o) {
			composeFiles = append(composeFiles, f)
		} else {
			bakeFiles = append(bakeFiles, f)
		}
	}
	if len(composeFiles) > 0 {
		if err := parseCompose(c, composeFiles, o); err != nil {
			return nil, err
		}
	}
	if len(bakeFiles) == 0 {
		return c, nil
	}
	p := newHCLParser(envLookup(o))
	for _, f := range bakeFiles {
		hf, err := parseHCLFile(f)
		if err != nil {
			return nil, err
		}
		if err := p.add(hf); err != nil {
			return nil, err
		}
	}
	for _, n := range sortedKeys(p.vars) {
		if err := p.resolveVar(n); err != nil {
			return nil, err
		}
		c.vars = append(c.vars, p.listed(n))
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	renamed := map[string][]string{}
	var order []string
	for _, b := range p.targets {
		pts, err := p.evalTarget(b)
		if err != nil {
			return nil, err
		}
		for _, pt := range pts {
			c.addTarget(pt.clone())
			label := b.Labels[0]
			if _, ok := renamed[label]; !ok {
				order = append(order, label)
			}
			renamed[label] = append(renamed[label], pt.t.Name)
		}
	}
	for _, b := range p.groups {
		g, err := p.evalGroup(b)
		if err != nil {
			return nil, err
		}
		c.addGroup(g)
	}
	// A matrix target's label names a group of its combinations.
	for _, label := range order {
		names := dedupe(renamed[label])
		if (len(names) == 1 && names[0] == label) || c.group(label) != nil {
			continue
		}
		c.groups = append(c.groups, &Group{Name: label, Targets: names})
	}
	for _, n := range sortedKeys(p.attrs) {
		if err := p.resolveVar(n); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// knownNames lists the targets and groups, for errors.
func (c *config) knownNames() string {
	var t, g []string
	for _, x := range c.targets {
		t = append(t, x.t.Name)
	}
	for _, x := range c.groups {
		g = append(g, x.Name)
	}
	slices.Sort(t)
	slices.Sort(g)
	s := "targets: " + orNone(t)
	if len(g) > 0 {
		s += "; groups: " + strings.Join(g, ", ")
	}
	return s
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

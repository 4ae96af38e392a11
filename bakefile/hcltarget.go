package bakefile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Attribute kinds of a target block, by name (buildx's hcl tags).
var (
	stringAttrs = []string{"description", "context", "dockerfile", "dockerfile-inline", "target", "network", "shm-size"}
	listAttrs   = []string{"inherits", "annotations", "tags", "platforms", "no-cache-filter", "ulimits", "entitlements"}
	specAttrs   = []string{"attest", "cache-from", "cache-to", "secret", "ssh", "output"} // strings or objects
	mapAttrs    = []string{"args", "labels", "contexts", "extra-hosts"}
	boolAttrs   = []string{"pull", "no-cache"}
)

func targetAttrNames() []string {
	all := slices.Concat(stringAttrs, listAttrs, specAttrs, mapAttrs, boolAttrs, []string{"matrix", "name"})
	slices.Sort(all)
	return all
}

// evalTarget evaluates one target block: one partial per matrix
// combination (one without a matrix). Results are cached, since a block
// may be evaluated early when another target refers to it.
func (p *hclParser) evalTarget(b *hcl.Block) ([]*partial, error) {
	if v, ok := p.blockVals[b]; ok {
		return v, nil
	}
	leave, err := p.enter("target."+b.Labels[0], b.DefRange)
	if err != nil {
		return nil, err
	}
	defer leave()
	attrs, diags := b.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	matrix, nameAttr := attrs["matrix"], attrs["name"]
	if nameAttr != nil && matrix == nil {
		return nil, fmt.Errorf("%s: target %q: name requires matrix", fmtRange(nameAttr.Range), b.Labels[0])
	}
	ctxs, local := []*hcl.EvalContext{p.ctx}, map[string]bool(nil)
	if matrix != nil {
		if ctxs, local, err = p.matrixContexts(b, matrix); err != nil {
			return nil, err
		}
	}
	valid := targetAttrNames()
	var out []*partial
	for _, ctx := range ctxs {
		name, err := p.blockName(b, nameAttr, ctx, local)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(o *partial) bool { return o.t.Name == name }) {
			return nil, fmt.Errorf("%s: target %q: duplicate name %q: a matrix with more than one combination needs a name expression that differs for each", fmtRange(b.DefRange), b.Labels[0], name)
		}
		pt := newPartial(name)
		for _, n := range sortedKeys(attrs) {
			a := attrs[n]
			if n == "matrix" || n == "name" {
				continue
			}
			if !slices.Contains(valid, n) {
				return nil, fmt.Errorf("%s: target %q: unsupported attribute %q; valid attributes: %s", fmtRange(a.NameRange), b.Labels[0], n, strings.Join(valid, ", "))
			}
			if err := p.deps(a.Expr, local); err != nil {
				return nil, err
			}
			v, diags := a.Expr.Value(ctx)
			if diags.HasErrors() {
				return nil, diagError(diags)
			}
			if err := setField(pt, n, v); err != nil {
				return nil, fmt.Errorf("%s: target %q: %s: %w", fmtRange(a.Range), name, n, err)
			}
		}
		out = append(out, pt)
	}
	p.blockVals[b] = out
	return out, nil
}

// setField stores an evaluated attribute. Null leaves it unset, as in
// buildx (a null arg or label is dropped rather than cleared).
func setField(pt *partial, n string, v cty.Value) error {
	if v.IsNull() {
		return nil
	}
	t := &pt.t
	switch {
	case slices.Contains(stringAttrs, n):
		s, err := convert.Convert(v, cty.String)
		if err != nil {
			return err
		}
		if s.IsNull() {
			return nil
		}
		*map[string]*string{"description": &t.Description, "context": &t.Context, "dockerfile": &t.Dockerfile,
			"dockerfile-inline": &t.DockerfileInline, "target": &t.Target, "network": &t.Network, "shm-size": &t.ShmSize}[n] = s.AsString()
	case slices.Contains(boolAttrs, n):
		bv, err := convert.Convert(v, cty.Bool)
		if err != nil {
			return err
		}
		b := bv.True()
		if n == "pull" {
			t.Pull = &b
		} else {
			t.NoCache = &b
		}
	case slices.Contains(listAttrs, n) || slices.Contains(specAttrs, n):
		if !v.CanIterateElements() || v.Type().IsMapType() || v.Type().IsObjectType() {
			return fmt.Errorf("must be a list, not %s", v.Type().FriendlyName())
		}
		list := []string{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() {
				continue
			}
			s, err := elemString(n, e)
			if err != nil {
				return err
			}
			list = append(list, s)
		}
		if n == "inherits" {
			pt.inherits = list
			return nil
		}
		*map[string]*[]string{"annotations": &t.Annotations, "tags": &t.Tags, "platforms": &t.Platforms,
			"no-cache-filter": &t.NoCacheFilter, "ulimits": &t.Ulimits, "entitlements": &t.Entitlements,
			"attest": &t.Attest, "cache-from": &t.CacheFrom, "cache-to": &t.CacheTo, "secret": &t.Secrets,
			"ssh": &t.SSH, "output": &t.Outputs}[n] = list
	case slices.Contains(mapAttrs, n):
		if !v.Type().IsMapType() && !v.Type().IsObjectType() {
			return fmt.Errorf("must be a map, not %s", v.Type().FriendlyName())
		}
		m := map[string]string{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if e.IsNull() {
				continue
			}
			s, err := convert.Convert(e, cty.String)
			if err != nil {
				return fmt.Errorf("%s: %w", k.AsString(), err)
			}
			m[k.AsString()] = s.AsString()
		}
		switch n {
		case "args":
			t.Args = m
		case "labels":
			t.Labels = m
		case "contexts":
			t.Contexts = m
		case "extra-hosts":
			pt.hosts = m
		}
	}
	pt.set[n] = true
	return nil
}

// elemString is a list element as a string; cache, output, secret, attest
// and ssh entries may be objects, which become their CSV form.
func elemString(n string, e cty.Value) (string, error) {
	if e.Type().IsObjectType() || e.Type().IsMapType() {
		if !slices.Contains(specAttrs, n) {
			return "", fmt.Errorf("elements must be strings, not %s", e.Type().FriendlyName())
		}
		m := map[string]string{}
		var paths []string
		for it := e.ElementIterator(); it.Next(); {
			k, v := it.Element()
			if v.IsNull() {
				continue
			}
			if v.CanIterateElements() && !v.Type().IsMapType() && !v.Type().IsObjectType() {
				for vit := v.ElementIterator(); vit.Next(); {
					_, x := vit.Element()
					if s, err := convert.Convert(x, cty.String); err == nil && !s.IsNull() {
						paths = append(paths, s.AsString())
					}
				}
				m[k.AsString()] = strings.Join(paths, ",")
				continue
			}
			s, err := convert.Convert(v, cty.String)
			if err != nil {
				return "", fmt.Errorf("%s: %w", k.AsString(), err)
			}
			m[k.AsString()] = s.AsString()
		}
		if n == "ssh" {
			if m["paths"] == "" {
				return m["id"], nil
			}
			return m["id"] + "=" + m["paths"], nil
		}
		first := "type"
		if n == "secret" {
			first = "id"
		}
		return joinCSV(first, m), nil
	}
	s, err := convert.Convert(e, cty.String)
	if err != nil {
		return "", fmt.Errorf("elements must be strings: %w", err)
	}
	return s.AsString(), nil
}

// targetRef evaluates the target a `target.NAME.attr` expression reads,
// and publishes it in the root context's `target` object.
func (p *hclParser) targetRef(tr hcl.Traversal, rng hcl.Range) error {
	if len(tr) < 2 {
		return nil
	}
	var name string
	switch s := tr[1].(type) {
	case hcl.TraverseAttr:
		name = s.Name
	case hcl.TraverseIndex:
		if s.Key.Type() == cty.String {
			name = s.Key.AsString()
		}
	}
	merged := (*partial)(nil)
	for _, b := range p.targets {
		if b.Labels[0] != name {
			continue
		}
		pts, err := p.evalTarget(b)
		if err != nil {
			return err
		}
		for _, pt := range pts {
			if pt.t.Name != name {
				continue
			}
			if merged == nil {
				merged = newPartial(name)
			}
			merged.merge(pt)
		}
	}
	if merged == nil {
		return nil
	}
	objs := map[string]cty.Value{}
	if cur, ok := p.ctx.Variables["target"]; ok {
		objs = cur.AsValueMap()
	}
	objs[name] = merged.ctyValue()
	p.ctx.Variables["target"] = cty.ObjectVal(objs)
	return nil
}

// ctyValue is the target as other targets' expressions see it: every
// attribute, null where the target does not set it.
func (pt *partial) ctyValue() cty.Value {
	t := pt.t
	str := func(n, v string) cty.Value {
		if !pt.set[n] {
			return cty.NullVal(cty.String)
		}
		return cty.StringVal(v)
	}
	list := func(n string, v []string) cty.Value {
		if !pt.set[n] {
			return cty.NullVal(cty.List(cty.String))
		}
		if len(v) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		var vals []cty.Value
		for _, s := range v {
			vals = append(vals, cty.StringVal(s))
		}
		return cty.ListVal(vals)
	}
	mp := func(n string, v map[string]string) cty.Value {
		if !pt.set[n] {
			return cty.NullVal(cty.Map(cty.String))
		}
		if len(v) == 0 {
			return cty.MapValEmpty(cty.String)
		}
		m := map[string]cty.Value{}
		for k, s := range v {
			m[k] = cty.StringVal(s)
		}
		return cty.MapVal(m)
	}
	boolv := func(n string, b *bool) cty.Value {
		if b == nil {
			return cty.NullVal(cty.Bool)
		}
		return cty.BoolVal(*b)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(t.Name), "description": str("description", t.Description),
		"context": str("context", t.Context), "dockerfile": str("dockerfile", t.Dockerfile),
		"dockerfile-inline": str("dockerfile-inline", t.DockerfileInline), "target": str("target", t.Target),
		"network": str("network", t.Network), "shm-size": str("shm-size", t.ShmSize),
		"inherits": list("inherits", pt.inherits), "annotations": list("annotations", t.Annotations),
		"tags": list("tags", t.Tags), "platforms": list("platforms", t.Platforms),
		"no-cache-filter": list("no-cache-filter", t.NoCacheFilter), "ulimits": list("ulimits", t.Ulimits),
		"entitlements": list("entitlements", t.Entitlements), "attest": list("attest", t.Attest),
		"cache-from": list("cache-from", t.CacheFrom), "cache-to": list("cache-to", t.CacheTo),
		"secret": list("secret", t.Secrets), "ssh": list("ssh", t.SSH), "output": list("output", t.Outputs),
		"args": mp("args", t.Args), "labels": mp("labels", t.Labels), "contexts": mp("contexts", t.Contexts),
		"extra-hosts": mp("extra-hosts", pt.hosts), "pull": boolv("pull", t.Pull), "no-cache": boolv("no-cache", t.NoCache),
	})
}

// evalGroup evaluates a group block: targets and description only.
func (p *hclParser) evalGroup(b *hcl.Block) (*Group, error) {
	attrs, diags := b.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	if err := validateName(b.Labels[0]); err != nil {
		return nil, fmt.Errorf("%s: group: %w", fmtRange(b.LabelRanges[0]), err)
	}
	g := &Group{Name: b.Labels[0], Targets: []string{}}
	for _, n := range sortedKeys(attrs) {
		a := attrs[n]
		if n != "targets" && n != "description" {
			return nil, fmt.Errorf("%s: group %q: unsupported attribute %q; a group has only targets and description (matrix and name are for targets)", fmtRange(a.NameRange), g.Name, n)
		}
		if err := p.deps(a.Expr, nil); err != nil {
			return nil, err
		}
		v, diags := a.Expr.Value(p.ctx)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		if v.IsNull() {
			continue
		}
		if n == "description" {
			s, err := convert.Convert(v, cty.String)
			if err != nil {
				return nil, fmt.Errorf("%s: group %q: description: %w", fmtRange(a.Range), g.Name, err)
			}
			g.Description = s.AsString()
			continue
		}
		lv, err := convert.Convert(v, cty.List(cty.String))
		if err != nil {
			return nil, fmt.Errorf("%s: group %q: targets must be a list of names: %w", fmtRange(a.Range), g.Name, err)
		}
		for it := lv.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if !e.IsNull() {
				g.Targets = append(g.Targets, e.AsString())
			}
		}
	}
	g.Targets = dedupe(g.Targets)
	return g, nil
}

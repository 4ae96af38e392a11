package bakefile

import (
	"fmt"
	"maps"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var targetNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func validateName(name string) error {
	if !targetNamePattern.MatchString(name) {
		return fmt.Errorf("invalid target name %q: only [a-zA-Z0-9_-]+ are allowed (use sanitize() in a matrix name)", name)
	}
	return nil
}

// matrixContexts expands a target's matrix into one evaluation context per
// combination, as buildx does: keys in order (cty's sorted key order), and
// for each key its values, each applied to every combination so far, so
// the first key varies fastest.
func (p *hclParser) matrixContexts(b *hcl.Block, attr *hcl.Attribute) ([]*hcl.EvalContext, map[string]bool, error) {
	if err := p.deps(attr.Expr, nil); err != nil {
		return nil, nil, err
	}
	v, diags := attr.Expr.Value(p.ctx)
	if diags.HasErrors() {
		return nil, nil, diagError(diags)
	}
	if !v.Type().IsMapType() && !v.Type().IsObjectType() {
		return nil, nil, fmt.Errorf("%s: target %q: matrix must be a map", fmtRange(attr.Range), b.Labels[0])
	}
	keys := map[string]bool{}
	combos := []map[string]cty.Value{{}}
	for it := v.ElementIterator(); it.Next(); {
		k, vals := it.Element()
		key := k.AsString()
		keys[key] = true
		if !vals.CanIterateElements() {
			return nil, nil, fmt.Errorf("%s: target %q: matrix values must be a list (key %s)", fmtRange(attr.Range), b.Labels[0], key)
		}
		var next []map[string]cty.Value
		for vit := vals.ElementIterator(); vit.Next(); {
			_, val := vit.Element()
			for _, c := range combos {
				c2 := maps.Clone(c)
				c2[key] = val
				next = append(next, c2)
			}
		}
		combos = next
	}
	ctxs := make([]*hcl.EvalContext, 0, len(combos))
	for _, c := range combos {
		child := p.ctx.NewChild()
		child.Variables = c
		ctxs = append(ctxs, child)
	}
	return ctxs, keys, nil
}

// blockName is the target's name in ctx: its label, or with a matrix its
// `name` expression; names must be valid target names.
func (p *hclParser) blockName(b *hcl.Block, nameAttr *hcl.Attribute, ctx *hcl.EvalContext, local map[string]bool) (string, error) {
	name := b.Labels[0]
	if err := validateName(name); err != nil {
		return "", fmt.Errorf("%s: %w", fmtRange(b.LabelRanges[0]), err)
	}
	if nameAttr == nil {
		return name, nil
	}
	if err := p.deps(nameAttr.Expr, local); err != nil {
		return "", err
	}
	v, diags := nameAttr.Expr.Value(ctx)
	if diags.HasErrors() {
		return "", diagError(diags)
	}
	v, err := convert.Convert(v, cty.String)
	if err != nil || v.IsNull() {
		return "", fmt.Errorf("%s: target %q: name must be a string", fmtRange(nameAttr.Range), b.Labels[0])
	}
	if err := validateName(v.AsString()); err != nil {
		return "", fmt.Errorf("%s: %w", fmtRange(nameAttr.Range), err)
	}
	return v.AsString(), nil
}

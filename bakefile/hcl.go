package bakefile

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// hclParser evaluates bake files (HCL or JSON) lazily, as buildx does:
// a variable, top-level attribute or referenced target is evaluated when
// an expression first needs it, so declarations may come in any order and
// cycles are found and named.
type hclParser struct {
	env      func(string) (string, bool)
	builtins map[string]string
	vars     map[string]*hclVar
	attrs    map[string]*hcl.Attribute
	targets  []*hcl.Block
	groups   []*hcl.Block
	ctx      *hcl.EvalContext

	resolving []string // what is being evaluated, for cycle paths
	calling   map[string]bool
	blockVals map[*hcl.Block][]*partial
}

type hclVar struct {
	name        string
	typ         hcl.Expression
	def         *hcl.Attribute
	description string
	validations []hclValidation
	decl        hcl.Range
	constraint  *cty.Type
}

type hclValidation struct{ cond, msg hcl.Expression }

var (
	fileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "function", LabelNames: []string{"name"}},
		{Type: "target", LabelNames: []string{"name"}},
		{Type: "group", LabelNames: []string{"name"}},
	}}
	variableSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "default"}, {Name: "type"}, {Name: "description"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
	}
	validationSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true}, {Name: "error_message", Required: true}}}
	functionSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "params", Required: true}, {Name: "variadic_params"}, {Name: "result", Required: true}}}
)

// parseHCLFile picks the syntax as buildx does: by extension, and for any
// other name HCL first, then JSON.
func parseHCLFile(f File) (*hcl.File, error) {
	p := hclparse.NewParser()
	var hf *hcl.File
	var diags hcl.Diagnostics
	switch {
	case strings.HasSuffix(f.Name, ".json"):
		hf, diags = p.ParseJSON(f.Data, f.Name)
	case strings.HasSuffix(f.Name, ".hcl"):
		hf, diags = p.ParseHCL(f.Data, f.Name)
	default:
		hf, diags = p.ParseHCL(f.Data, f.Name)
		if diags.HasErrors() {
			if jf, jd := hclparse.NewParser().ParseJSON(f.Data, f.Name); !jd.HasErrors() {
				return jf, nil
			}
		}
	}
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	return hf, nil
}

func newHCLParser(env func(string) (string, bool)) *hclParser {
	p := &hclParser{
		env:       env,
		builtins:  map[string]string{"BAKE_CMD_CONTEXT": ".", "BAKE_LOCAL_PLATFORM": localPlatform()},
		vars:      map[string]*hclVar{},
		attrs:     map[string]*hcl.Attribute{},
		calling:   map[string]bool{},
		blockVals: map[*hcl.Block][]*partial{},
		ctx:       &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: stdlibFuncs()},
	}
	return p
}

func localPlatform() string {
	s := runtime.GOOS + "/" + runtime.GOARCH
	if runtime.GOARCH == "arm" {
		s += "/v7"
	}
	return s
}

// add reads one file's declarations; later files override earlier
// variables, functions and attributes of the same name, and add blocks.
func (p *hclParser) add(hf *hcl.File) error {
	content, remain, diags := hf.Body.PartialContent(fileSchema)
	if diags.HasErrors() {
		return diagError(diags)
	}
	// Top-level attributes are variables too. HCL's native syntax
	// reports the (already read) blocks as unexpected here; buildx drops
	// that diagnostic, and so do we.
	attrs, diags := remain.JustAttributes()
	diags = slices.DeleteFunc(diags, func(d *hcl.Diagnostic) bool { return d.Detail == "Blocks are not allowed here." })
	if diags.HasErrors() {
		return diagError(diags)
	}
	for n, a := range attrs {
		if n == "target" || n == "group" || n == "variable" || n == "function" {
			return diagError(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid attribute",
				Detail: n + " must be a block", Subject: a.Range.Ptr()}})
		}
		p.attrs[n] = a
	}
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			v, err := decodeVariable(b)
			if err != nil {
				return err
			}
			if _, ok := p.builtins[v.name]; !ok {
				p.vars[v.name] = v
			}
		case "function":
			if err := p.addFunction(b); err != nil {
				return err
			}
		case "target":
			p.targets = append(p.targets, b)
		case "group":
			p.groups = append(p.groups, b)
		}
	}
	return nil
}

func decodeVariable(b *hcl.Block) (*hclVar, error) {
	c, diags := b.Body.Content(variableSchema)
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	v := &hclVar{name: b.Labels[0], def: c.Attributes["default"], decl: b.DefRange}
	if a := c.Attributes["type"]; a != nil {
		v.typ = a.Expr
	}
	if a := c.Attributes["description"]; a != nil {
		d, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		if d, err := convert.Convert(d, cty.String); err == nil && !d.IsNull() {
			v.description = d.AsString()
		}
	}
	for _, vb := range c.Blocks {
		vc, diags := vb.Body.Content(validationSchema)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		v.validations = append(v.validations, hclValidation{vc.Attributes["condition"].Expr, vc.Attributes["error_message"].Expr})
	}
	return v, nil
}

func (p *hclParser) addFunction(b *hcl.Block) error {
	c, diags := b.Body.Content(functionSchema)
	if diags.HasErrors() {
		return diagError(diags)
	}
	exprs, diags := hcl.ExprList(c.Attributes["params"].Expr)
	if diags.HasErrors() {
		return diagError(diags)
	}
	var params []string
	for _, e := range exprs {
		n := hcl.ExprAsKeyword(e)
		if n == "" {
			return diagError(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid param element",
				Detail: "Each parameter name must be an identifier.", Subject: e.Range().Ptr()}})
		}
		params = append(params, n)
	}
	var variadic string
	if a := c.Attributes["variadic_params"]; a != nil {
		if variadic = hcl.ExprAsKeyword(a.Expr); variadic == "" {
			return diagError(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid param element",
				Detail: "Each parameter name must be an identifier.", Subject: a.Range.Ptr()}})
		}
	}
	p.ctx.Functions[b.Labels[0]] = p.userFunc(b.Labels[0], params, variadic, c.Attributes["result"].Expr)
	return nil
}

// deps evaluates every variable, attribute and target an expression
// refers to (names in exclude are locals: function params, matrix keys).
func (p *hclParser) deps(e hcl.Expression, exclude map[string]bool) error {
	for _, tr := range e.Variables() {
		root := tr.RootName()
		if exclude[root] {
			continue
		}
		if root == "target" {
			if err := p.targetRef(tr, e.Range()); err != nil {
				return err
			}
			continue
		}
		if err := p.resolveVar(root); err != nil {
			return err
		}
	}
	return nil
}

func (p *hclParser) enter(what string, rng hcl.Range) (func(), error) {
	if i := slices.Index(p.resolving, what); i >= 0 {
		path := append(slices.Clone(p.resolving[i:]), what)
		return nil, fmt.Errorf("%s: reference cycle: %s", fmtRange(rng), strings.Join(path, " -> "))
	}
	p.resolving = append(p.resolving, what)
	return func() { p.resolving = p.resolving[:len(p.resolving)-1] }, nil
}

// resolveVar evaluates a variable or top-level attribute into the root
// context. An unknown name is left for HCL to report where it is used.
func (p *hclParser) resolveVar(name string) error {
	if _, ok := p.ctx.Variables[name]; ok {
		return nil
	}
	if v, ok := p.builtins[name]; ok {
		p.ctx.Variables[name] = cty.StringVal(v)
		return nil
	}
	if a, ok := p.attrs[name]; ok {
		leave, err := p.enter(name, a.Range)
		if err != nil {
			return err
		}
		defer leave()
		if err := p.deps(a.Expr, nil); err != nil {
			return err
		}
		v, diags := a.Expr.Value(p.ctx)
		if diags.HasErrors() {
			return diagError(diags)
		}
		p.ctx.Variables[name] = v
		return nil
	}
	vr, ok := p.vars[name]
	if !ok {
		return nil
	}
	leave, err := p.enter(name, vr.decl)
	if err != nil {
		return err
	}
	defer leave()
	v, err := p.variableValue(vr)
	if err != nil {
		return err
	}
	p.ctx.Variables[name] = v
	return nil
}

func fmtRange(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// diagError turns HCL diagnostics into one error naming file:line:col.
func diagError(diags hcl.Diagnostics) error {
	var msgs []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		m := d.Summary
		if d.Detail != "" {
			m += ": " + d.Detail
		}
		if d.Subject != nil {
			m = fmtRange(*d.Subject) + ": " + m
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "\n"))
}

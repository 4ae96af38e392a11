package bakefile

import (
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// stdlibFuncs are the functions bake files may call: buildx's list, less
// bcrypt, cidr*, uuidv5 and semvercmp (the hashes and encodings are in
// encodeFuncs).
func stdlibFuncs() map[string]function.Function {
	fs := encodeFuncs()
	for k, f := range map[string]function.Function{
		"absolute": stdlib.AbsoluteFunc, "add": stdlib.AddFunc, "and": stdlib.AndFunc,
		"basename": pathFunc("Returns the last element of a path.", path.Base),
		"byteslen": stdlib.BytesLenFunc, "bytesslice": stdlib.BytesSliceFunc,
		"can": tryfunc.CanFunc, "ceil": stdlib.CeilFunc, "chomp": stdlib.ChompFunc,
		"chunklist": stdlib.ChunklistFunc, "coalesce": stdlib.CoalesceFunc,
		"coalescelist": stdlib.CoalesceListFunc, "compact": stdlib.CompactFunc,
		"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc,
		"convert": typeexpr.ConvertFunc, "csvdecode": stdlib.CSVDecodeFunc,
		"dirname":  pathFunc("Returns the directory of a path.", path.Dir),
		"distinct": stdlib.DistinctFunc, "divide": stdlib.DivideFunc,
		"element": stdlib.ElementFunc, "equal": stdlib.EqualFunc,
		"flatten": stdlib.FlattenFunc, "floor": stdlib.FloorFunc,
		"format": stdlib.FormatFunc, "formatdate": stdlib.FormatDateFunc,
		"formatlist": stdlib.FormatListFunc, "greaterthan": stdlib.GreaterThanFunc,
		"greaterthanorequalto": stdlib.GreaterThanOrEqualToFunc,
		"hasindex":             stdlib.HasIndexFunc, "homedir": homedirFunc,
		"indent": stdlib.IndentFunc, "index": stdlib.IndexFunc, "indexof": indexOfFunc,
		"int": stdlib.IntFunc, "join": stdlib.JoinFunc,
		"jsondecode": stdlib.JSONDecodeFunc, "jsonencode": stdlib.JSONEncodeFunc,
		"keys": stdlib.KeysFunc, "length": stdlib.LengthFunc,
		"lessthan": stdlib.LessThanFunc, "lessthanorequalto": stdlib.LessThanOrEqualToFunc,
		"log": stdlib.LogFunc, "lookup": stdlib.LookupFunc, "lower": stdlib.LowerFunc,
		"max": stdlib.MaxFunc, "merge": stdlib.MergeFunc, "min": stdlib.MinFunc,
		"modulo": stdlib.ModuloFunc, "multiply": stdlib.MultiplyFunc,
		"negate": stdlib.NegateFunc, "not": stdlib.NotFunc, "notequal": stdlib.NotEqualFunc,
		"or": stdlib.OrFunc, "parseint": stdlib.ParseIntFunc, "pow": stdlib.PowFunc,
		"range": stdlib.RangeFunc, "regex_replace": stdlib.RegexReplaceFunc,
		"regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc,
		"replace": stdlib.ReplaceFunc, "reverse": stdlib.ReverseFunc,
		"reverselist": stdlib.ReverseListFunc, "sanitize": sanitizeFunc,
		"sethaselement": stdlib.SetHasElementFunc, "setintersection": stdlib.SetIntersectionFunc,
		"setproduct": stdlib.SetProductFunc, "setsubtract": stdlib.SetSubtractFunc,
		"setsymmetricdifference": stdlib.SetSymmetricDifferenceFunc,
		"setunion":               stdlib.SetUnionFunc, "signum": stdlib.SignumFunc,
		"slice": stdlib.SliceFunc, "sort": stdlib.SortFunc, "split": stdlib.SplitFunc,
		"strlen": stdlib.StrlenFunc, "substr": stdlib.SubstrFunc,
		"subtract": stdlib.SubtractFunc, "timeadd": stdlib.TimeAddFunc,
		"timestamp": timestampFunc, "title": stdlib.TitleFunc, "trim": stdlib.TrimFunc,
		"trimprefix": stdlib.TrimPrefixFunc, "trimspace": stdlib.TrimSpaceFunc,
		"trimsuffix": stdlib.TrimSuffixFunc, "try": tryfunc.TryFunc,
		"upper": stdlib.UpperFunc, "values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,
	} {
		fs[k] = f
	}
	return fs
}

func pathFunc(desc string, f func(string) string) function.Function {
	return function.New(&function.Spec{
		Description: desc,
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(f(args[0].AsString())), nil
		},
	})
}

// sanitizeFunc replaces every character a target name cannot hold
// ([a-zA-Z0-9_-]) with an underscore, so matrix values can name targets.
var sanitizeFunc = function.New(&function.Spec{
	Description: "Replaces all non-alphanumeric characters with a underscore, leaving only characters that are valid for a Bake target name.",
	Params:      []function.Parameter{{Name: "name", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(sanitizeName(args[0].AsString())), nil
	},
})

func sanitizeName(in string) string {
	var b strings.Builder
	for _, r := range in {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteRune('_')
		}
	}
	return b.String()
}

var homedirFunc = function.New(&function.Spec{
	Description: "Returns the current user's home directory.",
	Type:        function.StaticReturnType(cty.String),
	Impl: func(_ []cty.Value, _ cty.Type) (cty.Value, error) {
		home, err := os.UserHomeDir()
		if err != nil {
			return cty.NilVal, err
		}
		return cty.StringVal(home), nil
	},
})

var timestampFunc = function.New(&function.Spec{
	Description: "Returns a string representation of the current date and time.",
	Type:        function.StaticReturnType(cty.String),
	Impl: func(_ []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(time.Now().UTC().Format(time.RFC3339)), nil
	},
})

var indexOfFunc = function.New(&function.Spec{
	Description: "Finds the element index for a given value in a list.",
	Params:      []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}, {Name: "value", Type: cty.DynamicPseudoType}},
	Type:        function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if !args[0].Type().IsListType() && !args[0].Type().IsTupleType() {
			return cty.NilVal, fmt.Errorf("argument must be a list or tuple")
		}
		for it := args[0].ElementIterator(); it.Next(); {
			i, v := it.Element()
			if eq, err := stdlib.Equal(v, args[1]); err == nil && eq.IsKnown() && eq.True() {
				return i, nil
			}
		}
		return cty.NilVal, fmt.Errorf("item not found")
	},
})

// userFunc is a `function` block: params, optional variadic_params, and a
// result expression evaluated in a child of the file's context, so it may
// read variables (resolved on first call) and call other functions.
func (p *hclParser) userFunc(name string, params []string, variadic string, result hcl.Expression) function.Function {
	spec := &function.Spec{Type: function.StaticReturnType(cty.DynamicPseudoType)}
	for _, n := range params {
		spec.Params = append(spec.Params, function.Parameter{Name: n, Type: cty.DynamicPseudoType, AllowNull: true})
	}
	if variadic != "" {
		spec.VarParam = &function.Parameter{Name: variadic, Type: cty.DynamicPseudoType, AllowNull: true}
	}
	exclude := map[string]bool{}
	for _, n := range append(params, variadic) {
		exclude[n] = true
	}
	spec.Impl = func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if p.calling[name] {
			return cty.NilVal, fmt.Errorf("function cycle not allowed for %s", name)
		}
		p.calling[name] = true
		defer delete(p.calling, name)
		if err := p.deps(result, exclude); err != nil {
			return cty.NilVal, err
		}
		ctx := p.ctx.NewChild()
		ctx.Variables = map[string]cty.Value{}
		for i, n := range params {
			ctx.Variables[n] = args[i]
		}
		if variadic != "" {
			rest := args[len(params):]
			if len(rest) == 0 {
				ctx.Variables[variadic] = cty.EmptyTupleVal
			} else {
				ctx.Variables[variadic] = cty.TupleVal(rest)
			}
		}
		v, diags := result.Value(ctx)
		if diags.HasErrors() {
			return cty.NilVal, diagError(diags)
		}
		return v, nil
	}
	return function.New(spec)
}

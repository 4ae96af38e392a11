package bakefile

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// variableValue is buildx's: the default (converted to the declared
// type), overridden by the environment variable of the same name (or
// NAME_JSON for typed variables), parsed as the type or the default's
// primitive type (so BOOL=false gives a bool, not the string "false").
func (p *hclParser) variableValue(vr *hclVar) (cty.Value, error) {
	typ, typed := cty.DynamicPseudoType, false
	if vr.typ != nil {
		t, diags := typeexpr.TypeConstraint(vr.typ)
		if diags.HasErrors() {
			return cty.NilVal, diagError(diags)
		}
		typ, typed = t, true
		vr.constraint = &t
	}
	envv, hasEnv, jsonEnv := p.envOverride(vr.name, typed)
	var val cty.Value
	if vr.def == nil {
		if !hasEnv {
			if typed {
				return cty.NullVal(typ), nil
			}
			return cty.StringVal(""), nil
		}
	} else {
		if err := p.deps(vr.def.Expr, nil); err != nil {
			return cty.NilVal, err
		}
		v, diags := vr.def.Expr.Value(p.ctx)
		if diags.HasErrors() {
			return cty.NilVal, diagError(diags)
		}
		v, err := convert.Convert(v, typ)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%s: invalid type %s for variable %s default value: %v", fmtRange(vr.def.Range), typ.FriendlyName(), vr.name, err)
		}
		val = v
	}
	if !hasEnv {
		return val, nil
	}
	var err error
	switch {
	case typed && jsonEnv:
		val, err = ctyjson.Unmarshal([]byte(envv), typ)
		if err != nil {
			err = fmt.Errorf("failed to convert variable %s from JSON: %w", vr.name, err)
		}
	case typ.IsListType() || typ.IsSetType() || typ.IsTupleType() || typ.IsMapType():
		val, err = valueFromCSV(vr.name, envv, typ)
	case typed && typ.IsPrimitiveType():
		val, err = convertPrimitive(vr.name, envv, typ)
	case typed:
		err = fmt.Errorf("unsupported type %s for variable %s", typ.FriendlyName(), vr.name)
	case vr.def == nil || val.Type().Equals(cty.DynamicPseudoType) || val.IsNull():
		val = cty.StringVal(envv)
	case val.Type().IsPrimitiveType():
		val, err = convertPrimitive(vr.name, envv, val.Type())
	default:
		err = fmt.Errorf("unsupported type %s for variable %s", val.Type().FriendlyName(), vr.name)
	}
	if err != nil {
		return cty.NilVal, fmt.Errorf("%s: environment variable %s: %w", fmtRange(vr.decl), vr.name, err)
	}
	return val, nil
}

func (p *hclParser) envOverride(name string, favorJSON bool) (string, bool, bool) {
	v, ok := p.env(name)
	if !ok || favorJSON {
		jn := name + "_JSON"
		if _, declared := p.vars[jn]; !declared {
			if j, ok := p.env(jn); ok {
				return j, true, true
			}
		}
	}
	return v, ok, false
}

func convertPrimitive(name, value string, t cty.Type) (cty.Value, error) {
	switch {
	case t.Equals(cty.String):
		return cty.StringVal(value), nil
	case t.Equals(cty.Bool):
		b, err := strconv.ParseBool(value)
		if err != nil {
			return cty.NilVal, fmt.Errorf("failed to parse %s as bool: %w", name, err)
		}
		return cty.BoolVal(b), nil
	case t.Equals(cty.Number):
		n, err := strconv.ParseFloat(value, 64)
		if err == nil && (math.IsNaN(n) || math.IsInf(n, 0)) {
			err = errors.New("invalid number value")
		}
		if err != nil {
			return cty.NilVal, fmt.Errorf("failed to parse %s as number: %w", name, err)
		}
		return cty.NumberVal(big.NewFloat(n)), nil
	}
	return cty.NilVal, fmt.Errorf("%s of type %s is not a primitive", name, t.FriendlyName())
}

// valueFromCSV reads a list, set, tuple or map variable from its
// environment value as buildx does: comma-separated, maps as key:value.
func valueFromCSV(name, value string, t cty.Type) (cty.Value, error) {
	fields := splitCSV(value)
	elem := func(i int, f string) (cty.Value, error) {
		et := cty.DynamicPseudoType
		switch {
		case t.IsTupleType():
			et = t.TupleElementTypes()[i]
		default:
			et = t.ElementType()
		}
		if !et.IsPrimitiveType() {
			return cty.NilVal, fmt.Errorf("unsupported type %s for CSV specification", t.FriendlyName())
		}
		return convertPrimitive(name, f, et)
	}
	if t.IsMapType() {
		m := map[string]cty.Value{}
		for _, f := range fields {
			k, v, ok := strings.Cut(f, ":")
			if !ok {
				return cty.NilVal, fmt.Errorf("expected one k/v pair but got %q", f)
			}
			ev, err := elem(0, v)
			if err != nil {
				return cty.NilVal, err
			}
			m[k] = ev
		}
		if len(m) == 0 {
			return cty.MapValEmpty(t.ElementType()), nil
		}
		return cty.MapVal(m), nil
	}
	if t.IsTupleType() && len(t.TupleElementTypes()) != len(fields) {
		return cty.NilVal, fmt.Errorf("%s expects %d elements but %d provided", t.FriendlyName(), len(t.TupleElementTypes()), len(fields))
	}
	var vals []cty.Value
	for i, f := range fields {
		v, err := elem(i, f)
		if err != nil {
			return cty.NilVal, err
		}
		vals = append(vals, v)
	}
	switch {
	case t.IsTupleType():
		return cty.TupleVal(vals), nil
	case len(vals) == 0 && t.IsListType():
		return cty.ListValEmpty(t.ElementType()), nil
	case len(vals) == 0:
		return cty.SetValEmpty(t.ElementType()), nil
	case t.IsListType():
		return cty.ListVal(vals), nil
	}
	return cty.SetVal(vals), nil
}

// validate runs the variables' validation blocks.
func (p *hclParser) validate() error {
	for _, n := range sortedKeys(p.vars) {
		for _, rule := range p.vars[n].validations {
			if err := p.deps(rule.cond, nil); err != nil {
				return err
			}
			ok, diags := rule.cond.Value(p.ctx)
			if diags.HasErrors() {
				return diagError(diags)
			}
			ok, err := convert.Convert(ok, cty.Bool)
			if err != nil || ok.IsNull() {
				return fmt.Errorf("%s: validation condition of variable %s must be true or false", fmtRange(rule.cond.Range()), n)
			}
			if ok.True() {
				continue
			}
			msg := "This check failed, but has an invalid error message."
			if err := p.deps(rule.msg, nil); err == nil {
				if m, diags := rule.msg.Value(p.ctx); !diags.HasErrors() && !m.IsNull() {
					if m, err := convert.Convert(m, cty.String); err == nil {
						msg = m.AsString()
					}
				}
			}
			return fmt.Errorf("%s: validation failed for variable %s: %s", fmtRange(rule.cond.Range()), n, msg)
		}
	}
	return nil
}

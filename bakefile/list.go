package bakefile

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// List writes `--list targets` or `--list variables` (also
// type=targets,format=json) as buildx prints them.
func List(w io.Writer, files []File, o Options, what string) error {
	typ, format, err := parseList(what)
	if err != nil {
		return err
	}
	c, err := parseFiles(files, o)
	if err != nil {
		return err
	}
	if typ == "variables" {
		return listVars(w, format, c.vars)
	}
	return listTargets(w, format, c)
}

func parseList(s string) (typ, format string, err error) {
	format = "table"
	if !strings.Contains(s, "=") {
		typ = s
	} else {
		for _, f := range splitCSV(s) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return "", "", fmt.Errorf("--list %s: invalid value %s", s, f)
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "type":
				typ = v
			case "format":
				format = v
			default:
				return "", "", fmt.Errorf("--list %s: unexpected key %q (type or format)", s, k)
			}
		}
	}
	if typ != "targets" && typ != "variables" {
		return "", "", fmt.Errorf("--list %s: invalid list type %q: targets or variables", s, typ)
	}
	if format != "table" && format != "json" {
		return "", "", fmt.Errorf("--list %s: invalid list format %q: table or json", s, format)
	}
	return typ, format, nil
}

func listTargets(w io.Writer, format string, c *config) error {
	type entry struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
		Group       bool   `json:"group,omitempty"`
	}
	var list []entry
	for _, t := range c.targets {
		list = append(list, entry{Name: t.t.Name, Description: t.t.Description})
	}
	for _, g := range c.groups {
		d := g.Description
		if len(g.Targets) > 0 {
			names := strings.Join(slices.Sorted(slices.Values(g.Targets)), ", ")
			if d != "" {
				d += " (" + names + ")"
			} else {
				d = names
			}
		}
		list = append(list, entry{Name: g.Name, Description: d, Group: true})
	}
	slices.SortStableFunc(list, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	// A leading underscore marks a private target.
	list = slices.DeleteFunc(list, func(e entry) bool { return strings.HasPrefix(e.Name, "_") })
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(w, 1, 8, 1, '\t', 0)
	fmt.Fprint(tw, "TARGET\tDESCRIPTION\n")
	for _, e := range list {
		fmt.Fprintf(tw, "%s\t%s\n", e.Name, e.Description)
	}
	return tw.Flush()
}

func listVars(w io.Writer, format string, vars []listedVar) error {
	if format == "json" {
		type jv struct {
			Name        string  `json:"name"`
			Description string  `json:"description,omitempty"`
			Type        string  `json:"type,omitempty"`
			Value       *string `json:"value,omitempty"`
		}
		out := []jv{}
		for _, v := range vars {
			out = append(out, jv{v.Name, v.Description, v.Type, v.Value})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 1, 8, 1, '\t', 0)
	fmt.Fprint(tw, "VARIABLE\tTYPE\tVALUE\tDESCRIPTION\n")
	for _, v := range vars {
		val := "<null>"
		if v.Value != nil {
			val = *v.Value
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Name, v.Type, val, v.Description)
	}
	return tw.Flush()
}

// listed is a resolved variable as --list variables shows it: typed
// values as JSON (strings bare), primitives as strings.
func (p *hclParser) listed(name string) listedVar {
	vr := p.vars[name]
	lv := listedVar{Name: name, Description: vr.description}
	if vr.constraint != nil {
		lv.Type = vr.constraint.FriendlyNameForConstraint()
	}
	v := p.ctx.Variables[name]
	if v.IsNull() {
		return lv
	}
	var s string
	switch {
	case vr.constraint != nil:
		if b, err := ctyjson.Marshal(v, *vr.constraint); err == nil {
			s = string(b)
			if vr.constraint.Equals(cty.String) {
				s = strings.Trim(s, `"`)
			}
		}
	case v.Type().IsPrimitiveType():
		if sv, err := convert.Convert(v, cty.String); err == nil {
			s = sv.AsString()
		}
	default:
		if b, err := ctyjson.Marshal(v, v.Type()); err == nil {
			s = string(b)
		}
	}
	lv.Value = &s
	return lv
}

package frontend

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gorae/gorae/graph"
)

// Dump renders a Result as deterministic text for golden tests: every node
// reachable from Root (inputs first) with its op as compact JSON, then the
// config and the history entries with the nodes they describe.
func Dump(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "stage: %s\nstages: %d\n", r.Stage, r.Stages)
	ids := map[*graph.Node]string{}
	_ = graph.Walk([]*graph.Node{r.Root}, func(n *graph.Node) error {
		id := fmt.Sprintf("n%d", len(ids)+1)
		ids[n] = id
		fmt.Fprintf(&b, "%s %s", id, n.Op.Kind())
		if len(n.Inputs) > 0 {
			b.WriteString(" <-")
			for _, in := range n.Inputs {
				b.WriteString(" " + ids[in])
			}
		}
		if op := compactJSON(n.Op); op != "{}" {
			b.WriteString(" " + op)
		}
		b.WriteString("\n")
		if n.Name != "" || n.Pos.Line != 0 {
			fmt.Fprintf(&b, "   name=%q line=%d\n", n.Name, n.Pos.Line)
		}
		return nil
	})
	if r.Root != nil {
		fmt.Fprintf(&b, "root: %s\n", ids[r.Root])
	}
	if r.Config != nil {
		fmt.Fprintf(&b, "platform: %s/%s", r.Config.OS, r.Config.Architecture)
		if r.Config.Variant != "" {
			b.WriteString("/" + r.Config.Variant)
		}
		b.WriteString("\n")
		if r.Config.Author != "" {
			fmt.Fprintf(&b, "author: %q\n", r.Config.Author)
		}
		fmt.Fprintf(&b, "config: %s\n", compactJSON(r.Config.Config))
		fmt.Fprintf(&b, "base history: %d\n", len(r.Config.History))
	}
	b.WriteString("history:\n")
	for _, h := range r.History {
		layer := "empty"
		if !h.History.EmptyLayer {
			layer = "layer " + ids[h.Node]
			if h.Node == nil {
				layer = "layer <nil>"
			}
		}
		fmt.Fprintf(&b, "  %s %q (%s)\n", layer, h.History.CreatedBy, h.History.Comment)
	}
	return b.String()
}

// compactJSON marshals v with zero-valued fields left out, keys sorted.
func compactJSON(v any) string {
	dt, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	var x any
	if err := json.Unmarshal(dt, &x); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	dt, err = json.Marshal(dropZero(x))
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(dt)
}

func dropZero(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			e = dropZero(e)
			if isZero(e) {
				delete(v, k)
			} else {
				v[k] = e
			}
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = dropZero(e)
		}
		return v
	}
	return v
}

func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case float64:
		return v == 0
	case []any:
		return len(v) == 0
	}
	// Empty maps stay: {"80/tcp":{}} is how ExposedPorts and Volumes
	// list their keys.
	return false
}

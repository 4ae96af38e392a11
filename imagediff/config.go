package imagediff

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// configDiff returns the first leaf where the config JSON documents a and
// b differ, keys in sorted order, rootfs left out (layers are compared
// one by one instead): its path (".config.Env[1]") and both values as
// JSON ("" when absent).
func configDiff(a, b []byte) (path, va, vb string, err error) {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return "", "", "", fmt.Errorf("read config: %w", err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return "", "", "", fmt.Errorf("read config: %w", err)
	}
	for _, m := range []any{x, y} {
		if o, ok := m.(map[string]any); ok {
			delete(o, "rootfs")
		}
	}
	path, va, vb = firstDiff("", x, y)
	return path, va, vb, nil
}

func firstDiff(path string, x, y any) (string, string, string) {
	switch a := x.(type) {
	case map[string]any:
		b, ok := y.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(a)+len(b))
		for k := range a {
			keys = append(keys, k)
		}
		for k := range b {
			if _, ok := a[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			av, aok := a[k]
			bv, bok := b[k]
			p := path + "." + k
			switch {
			case !aok:
				return p, "", encode(bv)
			case !bok:
				return p, encode(av), ""
			}
			if p, va, vb := firstDiff(p, av, bv); p != "" {
				return p, va, vb
			}
		}
		return "", "", ""
	case []any:
		b, ok := y.([]any)
		if !ok {
			break
		}
		for i := range max(len(a), len(b)) {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(a):
				return p, "", encode(b[i])
			case i >= len(b):
				return p, encode(a[i]), ""
			}
			if p, va, vb := firstDiff(p, a[i], b[i]); p != "" {
				return p, va, vb
			}
		}
		return "", "", ""
	}
	if ex, ey := encode(x), encode(y); ex != ey {
		if path == "" {
			path = "."
		}
		return path, ex, ey
	}
	return "", "", ""
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}

package bakefile

import (
	"encoding/csv"
	"strings"
)

// splitCSV splits a key=value,... spec as buildx's csvvalue does (quotes
// protect commas); a malformed spec falls back to a plain comma split.
func splitCSV(s string) []string {
	if s == "" {
		return nil
	}
	r := csv.NewReader(strings.NewReader(s))
	r.LazyQuotes = true
	f, err := r.Read()
	if err != nil {
		return strings.Split(s, ",")
	}
	return f
}

// joinCSV writes attrs as key=value fields, first (when present) first and
// the rest in key order, quoting fields that hold commas or quotes.
func joinCSV(first string, attrs map[string]string) string {
	var fields []string
	if v, ok := attrs[first]; ok {
		fields = append(fields, first+"="+v)
	}
	for _, k := range sortedKeys(attrs) {
		if k != first {
			fields = append(fields, k+"="+attrs[k])
		}
	}
	for i, f := range fields {
		if strings.ContainsAny(f, ",\"\n") {
			fields[i] = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
	}
	return strings.Join(fields, ",")
}

// csvMap is a key=value,... spec as a map (keys lowercased).
func csvMap(s string) map[string]string {
	m := map[string]string{}
	for _, f := range splitCSV(s) {
		k, v, _ := strings.Cut(f, "=")
		m[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return m
}

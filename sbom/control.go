package sbom

import "strings"

// stanza is one paragraph of a Debian control file (dpkg's status
// database): field names as written, continuation lines joined with
// "\n".
type stanza map[string]string

// parseStanzas splits a Debian control file into its paragraphs. Only
// the fields in keep are stored; the others (Description, Conffiles: most
// of the bytes) are skipped.
func parseStanzas(data string, keep map[string]bool) []stanza {
	var out []stanza
	cur := stanza{}
	last := ""
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
			cur = stanza{}
		}
		last = ""
	}
	for len(data) > 0 {
		var line string
		if i := strings.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, ""
		}
		line = strings.TrimSuffix(line, "\r")
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				cur[last] += "\n" + strings.TrimSpace(line)
			}
		case line[0] == '#':
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || !keep[k] {
				last = ""
				continue
			}
			last = k
			cur[k] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

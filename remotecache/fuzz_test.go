package remotecache

import (
	"strings"
	"testing"
)

// FuzzParseSpec: any --cache-to or --cache-from value parses to a
// complete spec or to one error that names the flag and quotes the
// value.
func FuzzParseSpec(f *testing.F) {
	f.Fuzz(func(t *testing.T, v string) {
		for _, c := range []struct {
			flag  string
			parse func(string) (Spec, error)
		}{{"--cache-to", ParseTo}, {"--cache-from", ParseFrom}} {
			s, err := c.parse(v)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "invalid "+c.flag+" ") {
					t.Fatalf("%s error does not name the flag: %v", c.flag, err)
				}
				continue
			}
			switch {
			case s.Type == "registry" && s.Ref == "",
				s.Type == "local" && s.Dir == "",
				s.Type == "inline" && (c.flag != "--cache-to" || s.Ref != "" || s.Dir != ""),
				s.Type != "registry" && s.Type != "local" && s.Type != "inline":
				t.Fatalf("%s %q parsed to an incomplete spec %+v", c.flag, v, s)
			}
		}
	})
}

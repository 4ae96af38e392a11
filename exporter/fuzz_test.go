package exporter

import (
	"strings"
	"testing"
)

// FuzzParse: any --output value parses to an exporter or to one error
// that quotes the value; an exporter that writes somewhere has a dest.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, spec string) {
		e, err := Parse(spec)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid --output ") {
				t.Fatalf("error does not name the flag: %v", err)
			}
			return
		}
		switch x := e.(type) {
		case OCI:
			if x.Dest == "" {
				t.Fatalf("%q: OCI output without dest", spec)
			}
		case Docker:
			if x.Dest == "" {
				t.Fatalf("%q: docker output without dest", spec)
			}
		case Local:
			if x.Dest == "" || x.Dest == Stdout {
				t.Fatalf("%q: local output to %q", spec, x.Dest)
			}
		case Tar:
			if x.Dest == "" {
				t.Fatalf("%q: tar output without dest", spec)
			}
		}
	})
}

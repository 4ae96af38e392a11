package registry

import (
	"strings"
	"testing"
)

// FuzzNormalize: an image name normalizes to a name that normalizes to
// itself and parses for the registry, or to one error that quotes it.
func FuzzNormalize(f *testing.F) {
	f.Fuzz(func(t *testing.T, ref string) {
		n, err := Normalize(ref)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid image name ") {
				t.Fatalf("error does not say what is wrong: %v", err)
			}
			return
		}
		again, err := Normalize(n)
		if err != nil || again != n {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", ref, n, n, again, err)
		}
		if _, err := (Options{}).Parse(n); err != nil {
			t.Fatalf("normalized %q does not parse: %v", n, err)
		}
	})
}

package main

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseSecret: any --secret value gives an id and a value, or one
// usage error (exit 2) that names the flag. Values naming files outside
// this directory are left alone: reading /dev/stdin would block.
func FuzzParseSecret(f *testing.F) {
	env := func(k string) (string, bool) {
		if k == "SET" {
			return "value", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if strings.Contains(spec, "/") {
			t.Skip("file outside the package directory")
		}
		id, _, err := parseSecret(spec, env)
		if err != nil {
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--secret") {
				t.Fatalf("%q: not a usage error naming --secret: %v", spec, err)
			}
			return
		}
		if id == "" {
			t.Fatalf("%q: no error and no id", spec)
		}
	})
}

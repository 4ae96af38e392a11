package main

import (
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// TestBadImageNamesAreUsageErrors: a name that cannot name an image is a
// usage error (exit 2, as docker's CLI reports a bad reference before any
// work), and the message names the flag or argument.
func TestBadImageNamesAreUsageErrors(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo built\n"})
	digest := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"build", "--progress=plain", "-t", "ok:1", "-t", "Bad Name", "."}, []string{"invalid tag -t Bad Name", "Bad Name"}},
		{[]string{"build", "--progress=plain", "-t", "App:1", "."}, []string{"invalid tag -t App:1", "lower-case"}},
		{[]string{"build", "--progress=plain", "-t", "app@" + digest, "."}, []string{"invalid tag -t app@" + digest, "tag"}},
		{[]string{"tag", "busybox", "Bad:x"}, []string{"invalid TARGET", "Bad:x"}},
		{[]string{"tag", "busybox", "app@" + digest}, []string{"invalid TARGET", "names a digest"}},
	} {
		r := g.Run(t, dir, tc.args...)
		if r.Code != 2 {
			t.Errorf("gorae %s: exit %d, want 2 (usage)\n%s", strings.Join(tc.args, " "), r.Code, r.Stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.Stderr, w) {
				t.Errorf("gorae %s: stderr lacks %q:\n%s", strings.Join(tc.args, " "), w, r.Stderr)
			}
		}
		if strings.Contains(r.Stderr, "RUN echo built") {
			t.Errorf("gorae %s: the build ran before the name was checked:\n%s", strings.Join(tc.args, " "), r.Stderr)
		}
	}
	if r := g.Run(t, dir, "images"); strings.Contains(r.Stdout, "ok") {
		t.Errorf("a build refused for a bad -t still stored an image:\n%s", r.Stdout)
	}
}

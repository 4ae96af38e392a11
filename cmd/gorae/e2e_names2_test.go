package main

import (
	"strings"
	"testing"
	"time"
)

// TestBadNamesInEveryCommandAreUsageErrors: a malformed image name is a
// bad command line (exit 2) for every command that takes one, not only
// for -t and tag's TARGET (rmi, inspect, push, pull, save and tag's
// SOURCE used to exit 1, like a failed operation), and the store is left
// as it was.
func TestBadNamesInEveryCommandAreUsageErrors(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	digest := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rmi", "busybox", "Bad Name"}, `invalid image name "Bad Name"`},
		{[]string{"inspect", "UPPER"}, `invalid image name "UPPER"`},
		{[]string{"push", "Bad Name"}, `invalid image name "Bad Name"`},
		{[]string{"pull", "app:bad:tag"}, `invalid image name "app:bad:tag"`},
		{[]string{"save", "-o", dir + "/x.tar", "busybox", "UPPER"}, `invalid image name "UPPER"`},
		{[]string{"tag", "Bad Src", "ok"}, `invalid image name "Bad Src"`},
		{[]string{"import", dir + "/missing.tar", "app@" + digest}, "names a digest"},
		{[]string{"import", dir + "/missing.tar", "Bad Name"}, `invalid NAME: invalid image name "Bad Name"`},
	} {
		r := g.Run(t, dir, tc.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("gorae %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), r.Code, r.Stderr, tc.want)
		}
	}
	// rmi checks every name before removing any.
	if r := g.Must(t, dir, "images"); !strings.Contains(r.Stdout, "busybox") {
		t.Errorf("rmi busybox 'Bad Name' removed busybox before refusing:\n%s", r.Stdout)
	}
}

func TestAgoSingularAndPlural(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "just now"},
		{time.Minute + 5*time.Second, "1 minute ago"},
		{5 * time.Minute, "5 minutes ago"},
		{time.Hour, "1 hour ago"},
		{47 * time.Hour, "47 hours ago"},
		{72 * time.Hour, "3 days ago"},
	} {
		if got := agoAt(now.Add(-tc.d), now); got != tc.want {
			t.Errorf("agoAt(now-%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := agoAt(time.Time{}, now); got != "-" {
		t.Errorf("agoAt(zero) = %q, want -", got)
	}
}

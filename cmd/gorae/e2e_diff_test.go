package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// TestDiff: gorae diff names the config field, the layer (with the step
// that made it) and the file in which two builds differ; the same image
// from the store and from an OCI layout is the same.
func TestDiff(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY a.txt /a.txt\nRUN head -c 8 /dev/urandom | od -An -tx1 > /f && echo same > /g\n",
		"a.txt":      "a\n",
	})
	g.Must(t, dir, "build", "-t", "one", ".")
	g.Must(t, dir, "build", "--no-cache", "-t", "two", ".")
	r := g.Run(t, ".", "diff", "one", "two")
	if r.Code != 1 || !strings.Contains(r.Stdout, "layer 3 (RUN /bin/sh -c head -c 8 /dev/urandom | od -An -tx1 > /f && echo same > /g): sha256:") ||
		!strings.Contains(r.Stdout, "\nfile /f: content sha256:") {
		t.Errorf("diff one two: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	layout := filepath.Join(t.TempDir(), "layout")
	g.Must(t, dir, "build", "-t", "one", "--output", "type=oci,tar=false,dest="+layout, ".")
	r = g.Run(t, ".", "diff", "two", "oci-layout://"+layout)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "same image sha256:") {
		t.Errorf("diff of the same image from the store and a layout: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = g.Run(t, ".", "diff", "one")
	if r.Code != 2 {
		t.Errorf("diff with one image: exit %d", r.Code)
	}
	r = g.Run(t, ".", "diff", "one", "oci-layout://"+filepath.Join(dir, "none"))
	if r.Code != 2 || !strings.Contains(r.Stderr, "is not an OCI image layout") {
		t.Errorf("diff with a missing layout: exit %d\n%s", r.Code, r.Stderr)
	}
}

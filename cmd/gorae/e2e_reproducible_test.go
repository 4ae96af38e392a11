package main

import (
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// TestVerifyReproducible: --verify-reproducible builds again in a fresh
// root; a Dockerfile with RUN and a multi-stage COPY under
// SOURCE_DATE_EPOCH passes, and RUN date > /f fails naming /f.
func TestVerifyReproducible(t *testing.T) {
	g := newGorae(t)
	g.Env = append(g.Env, "SOURCE_DATE_EPOCH=1700000000")
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox AS build\nRUN mkdir /out && echo built > /out/app && chmod 0750 /out/app\n" +
			"FROM busybox\nCOPY --from=build /out/ /app/\nCOPY a.txt /a.txt\nRUN echo ok > /ok\n",
		"a.txt":           "a\n",
		"date.Dockerfile": "FROM busybox\nRUN date +%s > /d && head -c 8 /dev/urandom | od -An -tx1 > /f\n",
	})
	r := g.Must(t, dir, "build", "--progress=plain", "--verify-reproducible", "-t", "rep", ".")
	if !strings.Contains(r.Stderr, "verify reproducible: build again in a fresh root\n") {
		t.Errorf("no verify step:\n%s", r.Stderr)
	}
	r = g.Run(t, dir, "build", "--progress=plain", "--verify-reproducible", "-t", "dated", "-f", "date.Dockerfile", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "not reproducible: a second build in a fresh root differs") ||
		!strings.Contains(r.Stderr, "layer 2 (RUN /bin/sh -c date +%s > /d") || !strings.Contains(r.Stderr, "file /") {
		t.Errorf("RUN date: exit %d\n%s", r.Code, r.Stderr)
	}
	// A build that is not reproducible stores nothing; the second builds
	// never store anything here.
	if o := g.Must(t, ".", "images").Stdout; strings.Count(o, "\n") != 3 || strings.Contains(o, "dated") {
		t.Errorf("the verification left images in the store:\n%s", o)
	}
}

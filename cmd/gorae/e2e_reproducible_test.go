package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		"date.Dockerfile": "FROM busybox\nRUN date > /f\n",
	})
	r := g.Must(t, dir, "build", "--progress=plain", "--verify-reproducible", "-t", "rep", ".")
	if !strings.Contains(r.Stderr, "verify reproducible: build again in a fresh root\n") {
		t.Errorf("no verify step:\n%s", r.Stderr)
	}
	r = g.Run(t, dir, "build", "--progress=plain", "--verify-reproducible", "-t", "dated", "-f", "date.Dockerfile", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "not reproducible: a second build in a fresh root differs") ||
		!strings.Contains(r.Stderr, "layer 2 (RUN /bin/sh -c date > /f)") || !strings.Contains(r.Stderr, "\nfile /f: content sha256:") {
		t.Errorf("RUN date: exit %d\n%s", r.Code, r.Stderr)
	}
	// A build that is not reproducible stores nothing; the second builds
	// never store anything here.
	if o := g.Must(t, ".", "images").Stdout; strings.Count(o, "\n") != 3 || strings.Contains(o, "dated") {
		t.Errorf("the verification left images in the store:\n%s", o)
	}
}

// TestReproducibleByDefault: with no option, two fresh roots build the
// same digest (RUN and a multi-stage COPY); in a clean git checkout the
// epoch is HEAD's commit time, outside one the base image's created;
// --reproducible=false keeps the clock.
func TestReproducibleByDefault(t *testing.T) {
	g1, g2 := newGorae(t), newGorae(t)
	// Both roots pull one base (gorae import stamps its own time).
	base := testutil.Registry(t) + "/base/busybox:multi"
	testutil.PushBusyboxIndex(t, base, false)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM " + base + " AS build\nRUN mkdir /out && echo built > /out/app\n" +
			"FROM " + base + "\nCOPY --from=build /out/ /app/\nCOPY a.txt /a.txt\nRUN echo ok > /ok\n",
		"a.txt": "a\n",
	})
	a := g1.Must(t, dir, "build", "-q", ".").Stdout
	time.Sleep(1100 * time.Millisecond)
	b := g2.Must(t, dir, "build", "-q", ".").Stdout
	if a != b {
		t.Errorf("two fresh roots: %s and %s", a, b)
	}
	created := func(g *testutil.Gorae, ref string) string {
		var out struct{ Config struct{ Created string } }
		json.Unmarshal([]byte(g.Must(t, ".", "inspect", strings.TrimSpace(ref)).Stdout), &out)
		return out.Config.Created
	}
	if c := created(g1, a); c != "1970-01-01T00:00:00Z" { // testutil's busybox index: created at 0
		t.Errorf("created outside git = %s, want the base image's", c)
	}

	// A clean git checkout: HEAD's commit time.
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", "-A")
	git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "one")
	c := g1.Must(t, dir, "build", "-q", ".").Stdout
	if got := created(g1, c); got != "2024-01-02T03:04:05Z" {
		t.Errorf("created in a clean checkout = %s, want the commit's", got)
	}
	if d := g2.Must(t, dir, "build", "-q", ".").Stdout; d != c {
		t.Errorf("clean checkout, two roots: %s and %s", c, d)
	}
	// A dirty tree falls back to the base image's created.
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("b\n"), 0o644)
	if got := created(g1, g1.Must(t, dir, "build", "-q", ".").Stdout); got != "1970-01-01T00:00:00Z" {
		t.Errorf("created in a dirty checkout = %s", got)
	}

	// --reproducible=false: the clock.
	start := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	w := g1.Must(t, dir, "build", "-q", "--reproducible=false", "--no-cache", ".").Stdout
	if got := created(g1, w); got < start {
		t.Errorf("--reproducible=false created = %s, want after %s", got, start)
	}
}

// TestEpochChangeRestamps: a build under a new epoch runs no step again:
// it restamps the cached layers, and the image is the one a fresh root
// builds under that epoch.
func TestEpochChangeRestamps(t *testing.T) {
	g, fresh := newGorae(t), newGorae(t)
	base := testutil.Registry(t) + "/base/busybox:multi"
	testutil.PushBusyboxIndex(t, base, false)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM " + base + "\nCOPY a.txt /a.txt\nRUN mkdir -p /d/e && echo hi > /d/e/f\n",
		"a.txt":      "a\n",
	})
	g.Must(t, dir, "build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=1000000000", ".")
	r := g.Must(t, dir, "build", "--progress=plain", "--build-arg", "SOURCE_DATE_EPOCH=1700000000", ".")
	if !cached(r.Stderr, "RUN mkdir -p /d/e && echo hi > /d/e/f") {
		t.Errorf("a new epoch ran the RUN again:\n%s", r.Stderr)
	}
	want := fresh.Must(t, dir, "build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=1700000000", ".").Stdout
	if !strings.Contains(r.Stderr, "built "+strings.TrimSpace(want)) {
		t.Errorf("restamped image differs from a fresh root's %s:\n%s", want, r.Stderr)
	}
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// TestSymlinkSourcesInvalidate: a COPY source that is a symlink is
// followed, so changing what it points to must rebuild the step.
func TestSymlinkSourcesInvalidate(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile":   "FROM busybox\nCOPY lnk /out/\nCOPY flink /f.txt\n",
		"real/file":    "v1\n",
		"target.txt":   "t1\n",
		"unrelated.md": "x",
	})
	os.Symlink("real", filepath.Join(dir, "lnk"))
	os.Symlink("target.txt", filepath.Join(dir, "flink"))
	out := filepath.Join(t.TempDir(), "o")
	g.Must(t, dir, "build", "-q", "--output", "type=local,dest="+out, ".")
	testutil.WriteFiles(t, dir, map[string]string{"real/file": "v2\n", "target.txt": "t2\n"})
	r := g.Must(t, dir, "build", "--progress=plain", "--output", "type=local,dest="+out, ".")
	if cached(r.Stderr, "COPY lnk /out/") || cached(r.Stderr, "COPY flink /f.txt") {
		t.Errorf("COPY through a changed symlink was served from the cache:\n%s", r.Stderr)
	}
	for p, want := range map[string]string{"out/file": "v2\n", "f.txt": "t2\n"} {
		if b, _ := os.ReadFile(filepath.Join(out, p)); string(b) != want {
			t.Errorf("%s = %q, want %q", p, b, want)
		}
	}
}

// TestWorkdirThroughSymlink: WORKDIR follows symlinks on its path, as
// Docker does for /var/run → /run.
func TestWorkdirThroughSymlink(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nCOPY d/ /\nWORKDIR /lnk/sub\nCOPY f ./\n", "f": "f\n"})
	os.MkdirAll(filepath.Join(dir, "d"), 0o755)
	os.Symlink("/tmp", filepath.Join(dir, "d", "lnk"))
	out := filepath.Join(t.TempDir(), "o")
	g.Must(t, dir, "build", "-q", "--output", "type=local,dest="+out, ".")
	if b, err := os.ReadFile(filepath.Join(out, "tmp", "sub", "f")); err != nil || string(b) != "f\n" {
		t.Errorf("/tmp/sub/f through /lnk: %q, %v", b, err)
	}
}

// TestEpochKeepsCacheApart: a build with an epoch (SOURCE_DATE_EPOCH
// here, the default otherwise) never reuses layers made with the build's
// clock (--reproducible=false), and the other way round.
func TestEpochKeepsCacheApart(t *testing.T) {
	g := newGorae(t)
	dir := simpleContext(t)
	g.Must(t, dir, "build", "-q", "--reproducible=false", "-t", "plain", ".")
	g.Env = []string{"SOURCE_DATE_EPOCH=1000000000"}
	r := g.Must(t, dir, "build", "--progress=plain", "-t", "epoch", ".")
	if cached(r.Stderr, "COPY hello.txt /hello.txt") {
		t.Errorf("epoch build reused a layer made without the epoch:\n%s", r.Stderr)
	}
	g.Env = nil
	r = g.Must(t, dir, "build", "--progress=plain", "--reproducible=false", "-t", "plain2", ".")
	if !cached(r.Stderr, "COPY hello.txt /hello.txt") {
		t.Errorf("plain rebuild should reuse the plain layer:\n%s", r.Stderr)
	}
	if r := g.Must(t, dir, "inspect", "plain2"); strings.Contains(r.Stdout, "2001-09-09") {
		t.Errorf("plain build got the epoch's created date:\n%s", r.Stdout)
	}
}

// TestPruneBesideBuilds: prune running while builds run never removes a
// blob a build is about to name.
func TestPruneBesideBuilds(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nARG N\nCOPY f /f\nLABEL n=$N\n", "f": "f\n"})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				g.Run(t, dir, "prune")
			}
		}
	})
	for i := range 8 {
		testutil.WriteFiles(t, dir, map[string]string{"f": fmt.Sprintf("v%d\n", i)})
		g.Must(t, dir, "build", "-q", "-t", fmt.Sprintf("r%d", i), "--build-arg", fmt.Sprintf("N=%d", i), ".")
	}
	close(stop)
	wg.Wait()
	for i := range 8 {
		g.Must(t, dir, "inspect", fmt.Sprintf("r%d", i))
	}
	g.Must(t, dir, "prune")
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// noCacheFilterDockerfile: each RUN writes a fresh random stamp, so a
// changed file proves the step ran again and an equal one that it was
// served from the cache.
const noCacheFilterDockerfile = `FROM busybox AS base
WORKDIR /w
RUN cat /proc/sys/kernel/random/uuid > /w/base.txt
FROM busybox AS other
RUN cat /proc/sys/kernel/random/uuid > /other.txt
FROM base AS final
COPY --from=other /other.txt /other.txt
RUN cat /proc/sys/kernel/random/uuid > /final.txt
`

func TestNoCacheFilterReRunsStage(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": noCacheFilterDockerfile})
	build := func(out string, args ...string) (log string, stamps map[string]string) {
		t.Helper()
		args = append([]string{"build", "--progress=plain", "--output", "type=local,dest=" + out}, args...)
		log = g.Must(t, dir, append(args, ".")...).Stderr
		stamps = map[string]string{}
		for _, f := range []string{"w/base.txt", "other.txt", "final.txt"} {
			b, err := os.ReadFile(filepath.Join(out, f))
			if err != nil {
				t.Fatal(err)
			}
			stamps[f] = string(b)
		}
		return log, stamps
	}
	tmp := t.TempDir()
	_, first := build(filepath.Join(tmp, "1"))

	log, second := build(filepath.Join(tmp, "2"), "--no-cache-filter", "BASE", "--explain")
	if second["w/base.txt"] == first["w/base.txt"] {
		t.Errorf("base's RUN did not run again under --no-cache-filter base:\n%s", log)
	}
	if second["other.txt"] != first["other.txt"] {
		t.Errorf("stage other is not filtered, but its RUN ran again:\n%s", log)
	}
	if second["final.txt"] == first["final.txt"] {
		t.Errorf("final builds on base's re-run result, but its RUN was served from the cache:\n%s", log)
	}
	// Plain blocks: "[other 2/2] RUN …" CACHED; the filtered stage's
	// WORKDIR (before any re-run step) CACHED; the reasons under --explain.
	wantStep(t, log, "[base 2/3] ", "CACHED")
	wantStep(t, log, "[base 3/3] ", "not looked up (--no-cache-filter base)")
	wantStep(t, log, "[other 2/2] ", "CACHED")
	wantStep(t, log, "[final 1/2] ", "not looked up: it reads the result of a step that --no-cache-filter base re-ran")
	wantStep(t, log, "[final 2/2] ", "not looked up: it reads the result of a step that --no-cache-filter base re-ran")

	// The re-run results were saved: a plain rebuild is all cached and
	// gives the second build's files.
	log, third := build(filepath.Join(tmp, "3"))
	for f, v := range second {
		if third[f] != v {
			t.Errorf("%s after a plain rebuild = %q, want the --no-cache-filter build's %q", f, third[f], v)
		}
	}
	for _, s := range plainSteps(log) {
		if strings.HasPrefix(s.name, "[") && !strings.HasPrefix(s.name, "[internal]") && s.end() != "CACHED" {
			t.Errorf("rebuild after --no-cache-filter ran %q:\n%s", s.name, log)
		}
	}
}

func TestNoCacheFilterUnknownStage(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": noCacheFilterDockerfile})
	r := g.Run(t, dir, "build", "--no-cache-filter", "other,nope", ".")
	if r.Code != 2 {
		t.Errorf("exit code %d, want 2 (usage error)\n%s", r.Code, r.Stderr)
	}
	want := `gorae: invalid --no-cache-filter: the Dockerfile has no stage named "nope"; its stages are: base, other, final`
	if !strings.Contains(r.Stderr, want) {
		t.Errorf("stderr:\n%s\nwant it to contain\n%s", r.Stderr, want)
	}
	if strings.Contains(r.Stderr, "RUN") {
		t.Errorf("a usage error ran steps first:\n%s", r.Stderr)
	}
}

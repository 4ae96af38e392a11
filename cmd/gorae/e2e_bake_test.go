package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/internal/testutil"
)

// bakeDockerfile has a base stage three services share: its RUN prints
// a marker and leaves a stamp unique to its execution.
const bakeDockerfile = `FROM busybox AS base
RUN echo base-stage-ran && cat /proc/sys/kernel/random/uuid > /base-stamp

FROM base AS api
RUN echo api > /role

FROM base AS worker
RUN echo worker > /role

FROM base AS web
RUN echo web > /role
`

const bakeCompose = `services:
  api:
    image: bake/api:1
    build:
      context: .
      target: api
  worker:
    image: bake/worker:1
    build:
      context: .
      target: worker
  web:
    image: bake/web:1
    build:
      context: .
      target: web
      args:
        ROLE: web
  cli:
    image: bake/cli:1
    build:
      context: .
      dockerfile_inline: |
        FROM apibase
        RUN cat /role > /cli
      additional_contexts:
        apibase: service:api
  db:
    image: busybox
`

// tableRow matches one line of the end table: target, result, digest.
func tableRow(target string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `\s+(built|cached|failed|canceled|not started)\s+(sha256:[0-9a-f]{64}|-)\s+`)
}

func rowOf(t *testing.T, stderr, target string) (result, digest string) {
	t.Helper()
	m := tableRow(target).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no table row for %s:\n%s", target, stderr)
	}
	return m[1], m[2]
}

// TestBakeComposeSharedBase: the three services of a Compose file build
// in one bake, and a fourth FROM one of them (additional_contexts
// service:); the stage they share runs once (one marker, one stamp in
// all three images); the end table says built, then cached on a rerun;
// --metadata-file is keyed by service.
func TestBakeComposeSharedBase(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": bakeDockerfile, "compose.yaml": bakeCompose})
	meta := filepath.Join(dir, "meta.json")
	r := g.Must(t, dir, "bake", "--progress=plain", "--metadata-file", meta)
	if n := strings.Count(r.Stderr, "base-stage-ran\n"); n != 1 {
		t.Errorf("the shared stage's RUN printed its marker %d times, want 1:\n%s", n, r.Stderr)
	}
	for _, want := range []string{"[api base 2/2] RUN", "[worker worker 1/1] RUN", "WAITING for another build", "TARGET"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("progress lacks %q:\n%s", want, r.Stderr)
		}
	}
	digests := map[string]string{}
	stamps := map[string]bool{}
	for _, svc := range []string{"api", "worker", "web"} {
		res, d := rowOf(t, r.Stderr, svc)
		if res != "built" {
			t.Errorf("%s: %s, want built", svc, res)
		}
		digests[svc] = d
		out := g.Must(t, dir, "run", "--rm", "bake/"+svc+":1", "cat", "/base-stamp", "/role")
		stamp, role, _ := strings.Cut(out.Stdout, "\n")
		stamps[stamp] = true
		if strings.TrimSpace(role) != svc {
			t.Errorf("%s's /role = %q", svc, role)
		}
	}
	if out := g.Must(t, dir, "run", "--rm", "bake/cli:1", "cat", "/cli"); out.Stdout != "api\n" {
		t.Errorf("cli FROM service:api: /cli = %q", out.Stdout)
	}
	if res, _ := rowOf(t, r.Stderr, "cli"); res != "built" {
		t.Errorf("cli: %s", res)
	}
	if len(stamps) != 1 {
		t.Errorf("the base stage ran more than once: stamps %v", stamps)
	}
	if strings.Contains(r.Stderr, "[db") || strings.Contains(r.Stderr, "\ndb ") {
		t.Errorf("a service without a build section was built:\n%s", r.Stderr)
	}
	var md map[string]map[string]any
	b, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	for svc, d := range digests {
		if md[svc]["containerimage.digest"] != d || md[svc]["image.name"] != "docker.io/bake/"+svc+":1" {
			t.Errorf("metadata of %s: %v (table digest %s)", svc, md[svc], d)
		}
	}

	r = g.Must(t, dir, "bake", "--progress=plain", "api", "web")
	for _, svc := range []string{"api", "web"} {
		if res, d := rowOf(t, r.Stderr, svc); res != "cached" || d != digests[svc] {
			t.Errorf("rerun %s: %s %s, want cached %s", svc, res, d, digests[svc])
		}
	}
	if strings.Contains(r.Stderr, "worker") {
		t.Errorf("worker was not asked for:\n%s", r.Stderr)
	}
}

// bakeHCL: base is tagged in the test registry; app starts FROM that
// tag, tools copies from base through a target: context; broken fails.
const bakeHCL = `variable "REG" {}
group "default" {
  targets = ["app", "tools"]
}
target "base" {
  dockerfile-inline = "FROM busybox\nRUN echo from-base > /base\n"
  tags = ["${REG}/bake/base:1"]
}
target "app" {
  dockerfile-inline = "FROM ${REG}/bake/base:1\nRUN cat /base > /app\n"
  tags = ["${REG}/bake/app:1"]
}
target "tools" {
  contexts = { b = "target:base" }
  dockerfile-inline = "FROM busybox\nCOPY --from=b /base /tools\n"
  tags = ["${REG}/bake/tools:1"]
}
target "broken" {
  dockerfile-inline = "FROM busybox\nRUN echo about-to-fail && false\n"
  tags = ["${REG}/bake/broken:1"]
}
target "slow" {
  dockerfile-inline = "FROM busybox\nRUN sleep 60\n"
}
`

func inRegistry(t *testing.T, ref string) bool {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Head(r)
	return err == nil
}

// TestBakeDependenciesPushAllOrNothing: a FROM of another target's tag
// and a target: context build that target first and use its result
// before anything is pushed; with a failing target, --keep-going builds
// the rest, exits 1 and pushes nothing; without it, the failure cancels
// the slow target at once; a clean bake pushes every target.
func TestBakeDependenciesPushAllOrNothing(t *testing.T) {
	g := newGorae(t)
	reg := testutil.Registry(t)
	g.Env = append(g.Env, "REG="+reg)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"docker-bake.hcl": bakeHCL})

	r := g.Run(t, dir, "bake", "--progress=plain", "--push", "--keep-going", "app", "tools", "broken")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", r.Code, r.Stderr)
	}
	for target, want := range map[string]string{"base": "built", "app": "built", "tools": "built", "broken": "failed"} {
		if res, _ := rowOf(t, r.Stderr, target); res != want {
			t.Errorf("%s: %s, want %s", target, res, want)
		}
	}
	if !strings.Contains(r.Stderr, "nothing pushed") {
		t.Errorf("no word on the skipped push:\n%s", r.Stderr)
	}
	for _, n := range []string{"base", "app", "tools"} {
		if inRegistry(t, reg+"/bake/"+n+":1") {
			t.Errorf("%s was pushed though broken failed", n)
		}
	}
	out := g.Must(t, dir, "run", "--rm", reg+"/bake/app:1", "cat", "/app")
	if out.Stdout != "from-base\n" {
		t.Errorf("app FROM base's tag: /app = %q", out.Stdout)
	}

	start := time.Now()
	r = g.Run(t, dir, "bake", "--progress=plain", "broken", "slow")
	if r.Code != 1 || time.Since(start) > 30*time.Second {
		t.Fatalf("exit %d after %s, want 1 at once:\n%s", r.Code, time.Since(start), r.Stderr)
	}
	if res, _ := rowOf(t, r.Stderr, "slow"); res != "canceled" && res != "not started" {
		t.Errorf("slow: %s after broken failed", res)
	}

	r = g.Must(t, dir, "bake", "--progress=plain", "--push")
	for _, n := range []string{"app", "tools"} {
		if !inRegistry(t, reg+"/bake/"+n+":1") {
			t.Errorf("%s was not pushed:\n%s", n, r.Stderr)
		}
	}
	// base was not asked for: only tools' target: context brought it
	// in, so, as in buildx, it is built for its dependents only.
	if inRegistry(t, reg+"/bake/base:1") {
		t.Errorf("base was pushed, though only built for tools")
	}
	if res, _ := rowOf(t, r.Stderr, "app"); res != "cached" {
		t.Errorf("app rebuilt: %s", res)
	}
}

// TestBakeErrors: a cycle names its path; an unknown target names the
// known ones; both exit 1 before building anything.
func TestBakeErrors(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"docker-bake.hcl": `target "a" {
  contexts = { x = "target:b" }
  dockerfile-inline = "FROM busybox\n"
}
target "b" {
  tags = ["me/b"]
  dockerfile-inline = "FROM busybox\nCOPY --from=a / /\n"
  contexts = { a = "target:a" }
}
`})
	r := g.Run(t, dir, "bake", "a")
	if r.Code != 1 || !strings.Contains(r.Stderr, "a -> b -> a") {
		t.Errorf("cycle: exit %d:\n%s", r.Code, r.Stderr)
	}
	r = g.Run(t, dir, "bake", "nope")
	if r.Code != 1 || !strings.Contains(r.Stderr, "nope") {
		t.Errorf("unknown target: exit %d:\n%s", r.Code, r.Stderr)
	}
	// A bad value in one target stops the bake before any target
	// builds, naming the target and the field.
	testutil.WriteFiles(t, dir, map[string]string{"docker-bake.hcl": `group "default" {
  targets = ["good", "bad"]
}
target "good" {
  dockerfile-inline = "FROM busybox\nRUN touch /good\n"
}
target "bad" {
  dockerfile-inline = "FROM busybox\n"
  ulimits = ["nofile=x"]
}
`})
	r = g.Run(t, dir, "bake", "--progress=plain")
	if r.Code != 1 || !strings.Contains(r.Stderr, `target "bad": `) || strings.Contains(r.Stderr, "RUN touch") {
		t.Errorf("bad ulimit: exit %d:\n%s", r.Code, r.Stderr)
	}
}

// TestBakeExamples: the README's examples resolve and build offline.
func TestBakeExamples(t *testing.T) {
	g := newGorae(t)
	for _, ex := range []string{"compose", "bake"} {
		dir := filepath.Join(testutil.RepoRoot(t), "examples", ex)
		r := g.Must(t, dir, "bake", "--progress=plain", "--metadata-file", filepath.Join(t.TempDir(), "m.json"))
		if !strings.Contains(r.Stderr, "TARGET") || strings.Contains(r.Stderr, "failed") {
			t.Errorf("examples/%s:\n%s", ex, r.Stderr)
		}
	}
	out := g.Must(t, ".", "run", "--rm", "localhost:5000/example/app:1.0-full")
	if out.Stdout != "shared runtime\napp (full)\n" {
		t.Errorf("app-full prints %q", out.Stdout)
	}
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/internal/testutil"
)

const callDockerfile = `# check=skip=JSONArgsRecommended
ARG BASE=busybox
# base is the first stage
FROM $BASE as base
ARG VERSION=1.0
RUN --mount=type=secret,id=token,required=true false

# app builds the application
FROM base AS app
# GREETING says hello
ARG GREETING=hi
RUN --mount=type=ssh false
CMD echo hi
`

// trimLines drops trailing blanks of every line (tabwriter pads cells).
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// TestBuildCallCheck: --call check (and --check) run BuildKit's build
// checks without building, print them as buildx does and exit 1 when
// any is found; check=skip and check=error=true are honoured.
func TestBuildCallCheck(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile":       callDockerfile,
		"clean.Dockerfile": "FROM busybox AS base\nRUN false\n",
		"error.Dockerfile": strings.Replace(callDockerfile, "skip=JSONArgsRecommended", "skip=JSONArgsRecommended;error=true", 1),
	})
	want := `Check complete, 1 warning has been found!

WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/
'as' and 'FROM' keywords' casing do not match
Dockerfile:4
--------------------
   2 |     ARG BASE=busybox
   3 |     # base is the first stage
   4 | >>> FROM $BASE as base
   5 |     ARG VERSION=1.0
   6 |     RUN --mount=type=secret,id=token,required=true false
--------------------
`
	for _, flag := range []string{"--check", "--call=check"} {
		r := g.Run(t, dir, "build", flag, "-t", "checked", ".")
		if r.Code != 1 || r.Stdout != want {
			t.Errorf("build %s: exit %d, stdout\n%s\nwant exit 1 and\n%s\nstderr:\n%s", flag, r.Code, r.Stdout, want, r.Stderr)
		}
	}
	if r := g.Must(t, dir, "images"); strings.Contains(r.Stdout, "checked") {
		t.Errorf("--check built and stored an image:\n%s", r.Stdout)
	}
	r := g.Run(t, dir, "build", "--check", "-f", filepath.Join(dir, "clean.Dockerfile"), ".")
	if r.Code != 0 || r.Stdout != "Check complete, no warnings found.\n" {
		t.Errorf("clean Dockerfile: exit %d, stdout %q (a RUN false must not run)\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = g.Run(t, dir, "build", "--check", "-f", filepath.Join(dir, "error.Dockerfile"), ".")
	if r.Code != 1 || !strings.Contains(r.Stdout, "WARNING: FromAsCasing") || !strings.Contains(r.Stderr, "lint violation found for rules: FromAsCasing") {
		t.Errorf("check=error=true: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// With a target, only the stages it needs are converted and checked.
	testutil.WriteFiles(t, dir, map[string]string{"two.Dockerfile": "FROM busybox AS one\nFROM busybox AS two\nCMD echo hi\n"})
	r = g.Run(t, dir, "build", "--check", "--target", "one", "-f", filepath.Join(dir, "two.Dockerfile"), ".")
	if r.Code != 0 || r.Stdout != "Check complete, no warnings found.\n" {
		t.Errorf("--check --target one: exit %d, stdout %q", r.Code, r.Stdout)
	}
	r = g.Run(t, dir, "build", "--check", "-f", filepath.Join(dir, "two.Dockerfile"), ".")
	if r.Code != 1 || !strings.Contains(r.Stdout, "WARNING: JSONArgsRecommended") || !strings.Contains(r.Stdout, "two.Dockerfile:3") {
		t.Errorf("--check without a target lints every stage: exit %d, stdout %q", r.Code, r.Stdout)
	}
	// --build-arg BUILDKIT_DOCKERFILE_CHECK replaces the check
	// directive, as in BuildKit; a bad value is a usage error.
	r = g.Run(t, dir, "build", "--check", "--build-arg", "BUILDKIT_DOCKERFILE_CHECK=skip=all", ".")
	if r.Code != 0 || r.Stdout != "Check complete, no warnings found.\n" {
		t.Errorf("BUILDKIT_DOCKERFILE_CHECK=skip=all: exit %d, stdout %q\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = g.Run(t, dir, "build", "--build-arg", "BUILDKIT_DOCKERFILE_CHECK=error=true", "-f", filepath.Join(dir, "two.Dockerfile"), ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "lint violation found for rules: JSONArgsRecommended (--build-arg BUILDKIT_DOCKERFILE_CHECK sets error=true)") {
		t.Errorf("BUILDKIT_DOCKERFILE_CHECK=error=true: exit %d\n%s", r.Code, r.Stderr)
	}
	r = g.Run(t, dir, "build", "--check", "--build-arg", "BUILDKIT_DOCKERFILE_CHECK=error=maybe", ".")
	if r.Code != 2 || !strings.Contains(r.Stderr, "invalid --build-arg BUILDKIT_DOCKERFILE_CHECK=error=maybe") {
		t.Errorf("BUILDKIT_DOCKERFILE_CHECK=error=maybe: exit %d\n%s", r.Code, r.Stderr)
	}
}

// TestBuildCallOutlineTargets: --call outline and --call targets print
// what buildx prints, from the Dockerfile alone.
func TestBuildCallOutlineTargets(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": callDockerfile})
	r := g.Must(t, dir, "build", "--call", "outline", "--build-arg", "VERSION=2.0", ".")
	want := `TARGET:      app
DESCRIPTION: builds the application

BUILD ARG   VALUE     DESCRIPTION
BASE        busybox
VERSION     2.0
GREETING    hi        says hello

SECRET   REQUIRED
token    true

SSH       REQUIRED
default

`
	if got := trimLines(r.Stdout); got != want {
		t.Errorf("--call outline =\n%s\nwant\n%s", got, want)
	}
	r = g.Must(t, dir, "build", "--call", "outline", "--target", "base", ".")
	want = `TARGET:      base
DESCRIPTION: is the first stage

BUILD ARG   VALUE     DESCRIPTION
BASE        busybox
VERSION     1.0

SECRET   REQUIRED
token    true

`
	if got := trimLines(r.Stdout); got != want {
		t.Errorf("--call outline --target base =\n%s\nwant\n%s", got, want)
	}
	r = g.Must(t, dir, "build", "--call", "targets", ".")
	want = `TARGET        DESCRIPTION
base          is the first stage
app (default) builds the application
`
	if got := trimLines(r.Stdout); got != want {
		t.Errorf("--call targets =\n%s\nwant\n%s", got, want)
	}
	r = g.Run(t, dir, "build", "--call", "outline", "--target", "nope", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, `target stage "nope" could not be found`) {
		t.Errorf("outline of a missing target: exit %d\n%s", r.Code, r.Stderr)
	}
}

// TestBuildAnnotations: --annotation lands in the manifest, stored and
// pushed; manifest[PLATFORM]: applies to the platform built.
func TestBuildAnnotations(t *testing.T) {
	g := newGorae(t)
	reg := testutil.Registry(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nLABEL a=b\n"})
	ref := reg + "/test/annotated:v1"
	iid := filepath.Join(t.TempDir(), "iid")
	r := g.Must(t, dir, "build", "--progress=plain", "--iidfile", iid, "--output", "type=registry,name="+ref,
		"--annotation", "org.opencontainers.image.description=hello world",
		"--annotation", "manifest,manifest[linux/"+runtime.GOARCH+"]:com.example.k=v", ".")
	// type=registry pushes as --push does, and says so.
	if exp := findStep(r.Stderr, "exporting to image"); exp == nil || !slices.ContainsFunc(exp.lines, func(l string) bool {
		return strings.HasPrefix(l, "pushed "+ref+" ")
	}) {
		t.Errorf("type=registry: no \"pushed %s\" line in the export step:\n%s", ref, r.Stderr)
	}
	want := map[string]string{"org.opencontainers.image.description": "hello world", "com.example.k": "v"}
	d, err := os.ReadFile(iid)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(g.Root, "content/blobs/sha256", strings.TrimPrefix(string(d), "sha256:")))
	if err != nil {
		t.Fatalf("stored manifest: %v", err)
	}
	var m struct{ Annotations map[string]string }
	if err := json.Unmarshal(raw, &m); err != nil || !equalMaps(m.Annotations, want) {
		t.Errorf("stored manifest annotations = %v, %v; want %v", m.Annotations, err, want)
	}
	if r := g.Must(t, dir, "images"); !strings.Contains(r.Stdout, "annotated") {
		t.Errorf("type=registry,name= did not store the name locally:\n%s", r.Stdout)
	}
	pref, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(pref)
	if err != nil {
		t.Fatalf("pull pushed image: %v", err)
	}
	pm, err := img.Manifest()
	if err != nil || !equalMaps(pm.Annotations, want) {
		t.Errorf("pushed manifest annotations = %v, %v; want %v", pm.Annotations, err, want)
	}
	if got, _ := img.Digest(); got.String() != string(d) {
		t.Errorf("pushed digest %s, stored %s", got, d)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

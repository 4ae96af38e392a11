package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/internal/testutil"
)

// multiDockerfile is the cross-compile pattern: a stage on the build
// platform that names no target (run once for every platform), a stage
// on the build platform that does (run once per target), and a final
// stage on each target platform with an emulated RUN.
const multiDockerfile = `FROM --platform=$BUILDPLATFORM busybox AS tool
RUN head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > /nonce && uname -m > /tool-arch
FROM --platform=$BUILDPLATFORM busybox AS cross
ARG TARGETARCH
RUN echo "built on $(uname -m) for $TARGETARCH" > /cross
FROM BASE
ARG TARGETPLATFORM
COPY --from=tool /nonce /tool-arch /
COPY --from=cross /cross /cross
COPY data.txt /data.txt
RUN uname -m > /arch && echo $TARGETPLATFORM > /target
`

// TestMultiPlatformBuild builds amd64 and arm64 in one build from a
// two-platform base, pushes one index, and checks each platform's image:
// its config, files (the arm64 RUN emulated), the shared stage run once,
// the progress prefixes, and what the store and gorae run make of it.
func TestMultiPlatformBuild(t *testing.T) {
	g := newGorae(t)
	reg := testutil.Registry(t)
	base := reg + "/base/busybox:multi"
	testutil.PushBusyboxIndex(t, base, false)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": strings.Replace(multiDockerfile, "BASE", base, 1),
		"data.txt":   "data\n",
	})
	out := t.TempDir()
	ref := reg + "/mp/app:1"
	r := g.Must(t, dir, "build", "--progress=plain", "--platform", "linux/amd64, linux/arm64/v8", "--platform", "linux/arm64",
		"-t", ref, "--push", "--iidfile", filepath.Join(out, "iid"), "--metadata-file", filepath.Join(out, "meta.json"),
		"--output", "type=local,dest="+filepath.Join(out, "local"), "--output", "type=oci,dest="+filepath.Join(out, "oci.tar"), ".")

	// One step each for the shared stage, one per platform for the rest.
	for step, n := range map[string]int{
		"[linux/amd64 tool 2/2] RUN":           1,
		"[linux/amd64->amd64 cross 2/2] RUN":   0,
		"[linux/amd64 cross 2/2] RUN":          1,
		"[linux/amd64->arm64 cross 2/2] RUN":   1,
		"[linux/arm64 stage-2 5/5] RUN":        1,
		"[linux/amd64 stage-2 5/5] RUN":        1,
		"[linux/arm64 internal] load metadata": 1,
	} {
		re := regexp.MustCompile(`(?m)^#(\d+) ` + regexp.QuoteMeta(step))
		ids := map[string]bool{}
		for _, m := range re.FindAllStringSubmatch(r.Stderr, -1) {
			ids[m[1]] = true
		}
		if len(ids) != n {
			t.Errorf("%d steps named %q, want %d:\n%s", len(ids), step, n, r.Stderr)
		}
	}

	// The registry has one index, platforms in --platform order.
	nref, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(nref)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := idx.Digest()
	if im.MediaType != types.OCIImageIndex || len(im.Manifests) != 2 {
		t.Fatalf("pushed index: %+v", im)
	}
	for i, want := range []string{"linux/amd64", "linux/arm64"} {
		d := im.Manifests[i]
		if d.Platform == nil || d.Platform.String() != want || d.MediaType != types.OCIManifestSchema1 || d.ArtifactType != "" {
			t.Errorf("descriptor %d = %+v, want platform %s", i, d, want)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS+"/"+cf.Architecture != want {
			t.Errorf("%s config says %s/%s", want, cf.OS, cf.Architecture)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "iid")); string(b) != digest.String() {
		t.Errorf("--iidfile = %s, want the index digest %s", b, digest)
	}
	var meta map[string]any
	b, _ := os.ReadFile(filepath.Join(out, "meta.json"))
	if err := json.Unmarshal(b, &meta); err != nil || meta["containerimage.digest"] != digest.String() {
		t.Errorf("--metadata-file = %s", b)
	}

	// Each platform's files: its own RUN (arm64 under emulation), the
	// cross stage per target, and the shared stage's one run.
	read := func(p, f string) string {
		b, err := os.ReadFile(filepath.Join(out, "local", p, f))
		if err != nil {
			t.Error(err)
		}
		return strings.TrimSpace(string(b))
	}
	for p, want := range map[string][3]string{
		"linux_amd64": {"x86_64", "linux/amd64", "built on x86_64 for amd64"},
		"linux_arm64": {"aarch64", "linux/arm64", "built on x86_64 for arm64"},
	} {
		if got := [3]string{read(p, "arch"), read(p, "target"), read(p, "cross")}; got != want {
			t.Errorf("%s: arch, target, cross = %q, want %q", p, got, want)
		}
		if read(p, "tool-arch") != "x86_64" || read(p, "data.txt") != "data" {
			t.Errorf("%s: tool-arch %q data %q", p, read(p, "tool-arch"), read(p, "data.txt"))
		}
	}
	if a, b := read("linux_amd64", "nonce"), read("linux_arm64", "nonce"); a == "" || a != b {
		t.Errorf("the shared stage ran more than once: nonces %q and %q", a, b)
	}

	// The store keeps the index: images lists both platforms, run
	// --platform picks one.
	if o := g.Must(t, ".", "images").Stdout; !strings.Contains(o, "linux/amd64,linux/arm64") {
		t.Errorf("gorae images:\n%s", o)
	}
	if o := g.Must(t, ".", "run", "--rm", "--platform", "linux/arm64", ref, "uname", "-m").Stdout; strings.TrimSpace(o) != "aarch64" {
		t.Errorf("run --platform linux/arm64: uname -m = %q", o)
	}
	if o := g.Must(t, ".", "run", "--rm", ref, "cat", "/target").Stdout; strings.TrimSpace(o) != "linux/amd64" {
		t.Errorf("run without --platform: /target = %q", o)
	}

	// A warm rebuild is all cached and gives the same index.
	r = g.Must(t, dir, "build", "--progress=plain", "--platform", "linux/amd64,linux/arm64", "-t", ref, ".")
	if strings.Contains(r.Stderr, "\n#") && regexp.MustCompile(`(?m)^#\d+ \[linux/\S+ (tool|cross|stage-2) \d/\d\] RUN[^\n]*\n#\d+ DONE`).MatchString(r.Stderr) {
		t.Errorf("warm rebuild ran a RUN:\n%s", r.Stderr)
	}
	if !strings.Contains(r.Stderr, "built "+digest.String()) {
		t.Errorf("warm rebuild is not %s:\n%s", digest, r.Stderr)
	}
}

// TestMultiPlatformOutputs: Docker media types give a manifest list;
// type=docker refuses several platforms before the build, naming the
// alternatives; a bad --platform names the flag.
func TestMultiPlatformOutputs(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "x"})
	out := t.TempDir()
	r := g.Run(t, dir, "build", "--platform", "linux/amd64,linux/arm64", "--output", "type=docker,dest="+filepath.Join(out, "d.tar"), ".")
	if r.Code != 2 || !strings.Contains(r.Stderr, "type=docker") || !strings.Contains(r.Stderr, "oci") {
		t.Errorf("type=docker with two platforms: exit %d\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "d.tar")); err == nil {
		t.Error("type=docker wrote a file")
	}
	r = g.Run(t, dir, "build", "--platform", "linux/amd64,linux//x", ".")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--platform") {
		t.Errorf("bad platform: exit %d\n%s", r.Code, r.Stderr)
	}
	g.Must(t, dir, "build", "--oci-mediatypes=false", "--platform", "linux/arm/v7,linux/amd64", "--output", "type=oci,tar=false,dest="+filepath.Join(out, "oci"), ".")
	b, err := os.ReadFile(filepath.Join(out, "oci", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top v1.IndexManifest
	if err := json.Unmarshal(b, &top); err != nil || len(top.Manifests) != 1 || top.Manifests[0].MediaType != types.DockerManifestList {
		t.Fatalf("index.json = %s", b)
	}
	d := top.Manifests[0].Digest
	b, err = os.ReadFile(filepath.Join(out, "oci", "blobs", d.Algorithm, d.Hex))
	if err != nil {
		t.Fatal(err)
	}
	var list v1.IndexManifest
	if err := json.Unmarshal(b, &list); err != nil || len(list.Manifests) != 2 || list.Manifests[0].Platform.String() != "linux/arm/v7" || list.Manifests[0].MediaType != types.DockerManifestSchema2 {
		t.Errorf("manifest list = %s", b)
	}
}

// TestMultiPlatformRemoteCache: one --cache-to ref holds every platform's
// records, so a fresh root rebuilds both platforms from it without running
// a step, to the same index; a fresh root runs the pushed arm64 image.
func TestMultiPlatformRemoteCache(t *testing.T) {
	g := newGorae(t)
	reg := testutil.Registry(t)
	base := reg + "/base/busybox:multi"
	testutil.PushBusyboxIndex(t, base, false)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM " + base + "\nARG TARGETARCH\nRUN uname -m > /arch && echo $TARGETARCH > /t\n",
	})
	ref, cache := reg+"/mp/cached:1", reg+"/mp/cache:buildcache"
	r := g.Must(t, dir, "build", "--progress=plain", "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push",
		"--cache-to", "type=registry,ref="+cache+",mode=max", ".")
	built := regexp.MustCompile(`built (sha256:[0-9a-f]{64})`).FindStringSubmatch(r.Stderr)
	if built == nil {
		t.Fatalf("no digest:\n%s", r.Stderr)
	}

	g2 := newGorae(t)
	r = g2.Must(t, dir, "build", "--progress=plain", "--platform", "linux/amd64,linux/arm64", "--cache-from", "type=registry,ref="+cache, ".")
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		if !cached(r.Stderr, "["+p+" 2/2] RUN uname -m > /arch") {
			t.Errorf("%s RUN not cached from the shared ref:\n%s", p, r.Stderr)
		}
	}
	if !strings.Contains(r.Stderr, "built "+built[1]) {
		t.Errorf("rebuild from the cache is not %s:\n%s", built[1], r.Stderr)
	}

	g3 := newGorae(t)
	if o := g3.Must(t, ".", "run", "--rm", "--platform", "linux/arm64", ref, "cat", "/arch", "/t").Stdout; o != "aarch64\narm64\n" {
		t.Errorf("fresh root, run --platform linux/arm64 %s: %q", ref, o)
	}
	if o := g3.Must(t, ".", "images").Stdout; !strings.Contains(o, "linux/arm64") || strings.Contains(o, "linux/amd64,linux/arm64") {
		t.Errorf("after pulling arm64 only, images:\n%s", o)
	}
}

// TestMultiPlatformPinnedBase: a base image pinned by its index digest
// (FROM NAME:TAG@sha256:…, as CI pins bases) is pulled for each platform
// and kept under its digest; a rebuild finds it in the store.
func TestMultiPlatformPinnedBase(t *testing.T) {
	g := newGorae(t)
	reg := testutil.Registry(t)
	base := reg + "/base/busybox:multi"
	d := testutil.PushBusyboxIndex(t, base, false)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM " + base + "@" + d.String() + "\nCOPY f /f\n", "f": "x"})
	r := g.Must(t, dir, "build", "--progress=plain", "--platform", "linux/amd64,linux/arm64", "-t", "pinned", ".")
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		if !strings.Contains(r.Stderr, "["+p+" 1/2] FROM "+base+"@"+d.String()+"\n") {
			t.Errorf("no %s FROM step naming the pinned index:\n%s", p, r.Stderr)
		}
	}
	r = g.Must(t, dir, "build", "--progress=plain", "--platform", "linux/amd64,linux/arm64", "-t", "pinned", ".")
	if strings.Contains(r.Stderr, "pulling") {
		t.Errorf("the rebuild pulled the pinned base again:\n%s", r.Stderr)
	}
}

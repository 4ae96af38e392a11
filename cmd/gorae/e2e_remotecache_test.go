package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/internal/testutil"
)

// sharedBase pushes g's busybox to reg, so that builds on different roots
// share one base image digest (each root imports busybox anew, with its
// own created time), as CI runners share a pulled base.
func sharedBase(t *testing.T, g *testutil.Gorae, reg string) string {
	t.Helper()
	ref := reg + "/base/busybox:1"
	g.Must(t, ".", "tag", "busybox", ref)
	g.Must(t, ".", "push", ref)
	return ref
}

// remoteCacheContext is a two-stage build on base: the builder stage
// makes an incompressible layer the final image never contains, so a
// cache hit on the final stage must never download it.
func remoteCacheContext(t *testing.T, base, marker string) string {
	t.Helper()
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM " + base + " AS builder\n" +
			"RUN head -c 200000 /dev/urandom > /big && echo " + marker + " > /artifact\n" +
			"FROM " + base + "\n" +
			"COPY --from=builder /artifact /artifact\n" +
			"RUN cat /artifact /artifact > /twice\n",
	})
	return dir
}

// assertRunsCached fails unless every RUN step in the plain progress was
// served from the cache.
func assertRunsCached(t *testing.T, stderr string) {
	t.Helper()
	runs := 0
	for _, s := range plainSteps(stderr) {
		if strings.Contains(s.name, "RUN ") {
			runs++
			if s.end() != "CACHED" {
				t.Errorf("RUN step executed instead of coming from the cache: %q %q\n%s", s.name, s.end(), stderr)
			}
		}
	}
	if runs == 0 {
		t.Errorf("no RUN step in the progress:\n%s", stderr)
	}
}

func digestFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// cacheBlobs returns every layer digest the gorae cache at ref names.
func cacheBlobs(t *testing.T, ref string) []v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("read cache manifest %s: %v", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != "application/vnd.gorae.cache.config.v1+json" {
		t.Errorf("cache config media type = %s", m.Config.MediaType)
	}
	var out []v1.Hash
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

func TestRemoteCacheRegistryRoundTrip(t *testing.T) {
	reg := testutil.Registry(t)
	g1 := newGorae(t)
	dir := remoteCacheContext(t, sharedBase(t, g1, reg), "one")
	cacheRef := reg + "/cache/app:buildcache"
	iid1 := filepath.Join(t.TempDir(), "iid")
	g1.Must(t, dir, "build", "--progress=plain", "--iidfile", iid1,
		"--cache-to", "type=registry,ref="+cacheRef+",mode=max", ".")

	// A fresh machine: empty root (but for the base image), only the cache.
	g2 := newGorae(t)
	iid2 := filepath.Join(t.TempDir(), "iid")
	imgRef := reg + "/app/final:1"
	r := g2.Must(t, dir, "build", "--progress=plain", "--iidfile", iid2,
		"--cache-from", cacheRef, "-t", imgRef, "--push", ".")
	assertRunsCached(t, r.Stderr)
	if a, b := digestFile(t, iid1), digestFile(t, iid2); a != b {
		t.Errorf("image digest from the remote cache %s, want %s", b, a)
	}
	// The builder stage's layer is in the cache but not in the image: the
	// second machine must not have downloaded it.
	pref, _ := name.ParseReference(imgRef, name.Insecure)
	pushed, err := remote.Image(pref)
	if err != nil {
		t.Fatalf("pull pushed image: %v", err)
	}
	inImage := map[v1.Hash]bool{}
	ls, _ := pushed.Layers()
	for _, l := range ls {
		d, _ := l.Digest()
		inImage[d] = true
	}
	unneeded := 0
	for _, d := range cacheBlobs(t, cacheRef) {
		if inImage[d] {
			continue
		}
		unneeded++
		if _, err := os.Stat(filepath.Join(g2.Root, "content", "blobs", "sha256", d.Hex)); err == nil {
			t.Errorf("blob %s, needed by no step of the second build, was downloaded", d)
		}
	}
	if unneeded == 0 {
		t.Error("the cache holds no builder-only layer; the test proves nothing")
	}
	// The image works: its files are there.
	out := filepath.Join(t.TempDir(), "out")
	g2.Must(t, dir, "build", "-q", "--cache-from", cacheRef, "--output", "type=local,dest="+out, ".")
	if b, _ := os.ReadFile(filepath.Join(out, "twice")); string(b) != "one\none\n" {
		t.Errorf("/twice = %q", b)
	}
}

func TestRemoteCacheAppendsBranches(t *testing.T) {
	reg := testutil.Registry(t)
	cacheRef := reg + "/cache/shared:main"
	g1 := newGorae(t)
	base := sharedBase(t, g1, reg)
	a, b := remoteCacheContext(t, base, "branch-a"), remoteCacheContext(t, base, "branch-b")
	g1.Must(t, a, "build", "-q", "--cache-to", "type=registry,ref="+cacheRef+",mode=max", ".")
	g1b := newGorae(t)
	g1b.Must(t, b, "build", "-q", "--cache-to", "type=registry,ref="+cacheRef+",mode=max", ".")
	g2 := newGorae(t)
	for _, dir := range []string{a, b} {
		r := g2.Must(t, dir, "build", "--progress=plain", "--cache-from", "type=registry,ref="+cacheRef, ".")
		assertRunsCached(t, r.Stderr)
	}
}

func TestRemoteCacheMissingRefWarns(t *testing.T) {
	reg := testutil.Registry(t)
	g := newGorae(t)
	dir := remoteCacheContext(t, "busybox", "x")
	missing := reg + "/cache/nothing:here"
	r := g.Must(t, dir, "build", "--progress=plain", "--cache-from", missing, ".")
	if !strings.Contains(r.Stderr, "WARNING: cache import from "+missing+" skipped: ") {
		t.Errorf("no warning about the missing cache:\n%s", r.Stderr)
	}
	r = g.Run(t, dir, "build", "--cache-to", "type=registry", ".")
	if r.Code != 2 || !strings.Contains(r.Stderr, "invalid --cache-to \"type=registry\": type=registry needs ref=") {
		t.Errorf("bad --cache-to: exit %d\n%s", r.Code, r.Stderr)
	}
}

func TestRemoteCacheLocalRoundTrip(t *testing.T) {
	reg := testutil.Registry(t)
	g1 := newGorae(t)
	dir := remoteCacheContext(t, sharedBase(t, g1, reg), "local")
	cache := filepath.Join(t.TempDir(), "cache")
	iid1 := filepath.Join(t.TempDir(), "iid")
	g1.Must(t, dir, "build", "-q", "--iidfile", iid1, "--cache-to", "type=local,dest="+cache+",mode=max", ".")
	var idx v1.IndexManifest
	b, err := os.ReadFile(filepath.Join(cache, "index.json"))
	if err != nil || json.Unmarshal(b, &idx) != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json = %s, %v", b, err)
	}
	g2 := newGorae(t)
	iid2 := filepath.Join(t.TempDir(), "iid")
	r := g2.Must(t, dir, "build", "--progress=plain", "--iidfile", iid2, "--cache-from", "type=local,src="+cache, ".")
	assertRunsCached(t, r.Stderr)
	if a, b := digestFile(t, iid1), digestFile(t, iid2); a != b {
		t.Errorf("image digest from the local cache %s, want %s", b, a)
	}
}

func TestRemoteCacheInlineRoundTrip(t *testing.T) {
	reg := testutil.Registry(t)
	g1 := newGorae(t)
	dir := remoteCacheContext(t, sharedBase(t, g1, reg), "inline")
	imgRef := reg + "/app/inline:1"
	iid1 := filepath.Join(t.TempDir(), "iid")
	g1.Must(t, dir, "build", "-q", "--iidfile", iid1, "--cache-to", "type=inline", "-t", imgRef, "--push", ".")
	g2 := newGorae(t)
	iid2 := filepath.Join(t.TempDir(), "iid")
	r := g2.Must(t, dir, "build", "--progress=plain", "--iidfile", iid2, "--cache-to", "type=inline", "--cache-from", imgRef, ".")
	// Only the final stage is in an inline cache, and a hit on its last
	// step needs nothing below.
	for _, s := range plainSteps(r.Stderr) {
		if strings.Contains(s.name, "RUN cat /artifact") && s.end() != "CACHED" {
			t.Errorf("final RUN executed: %q %q\n%s", s.name, s.end(), r.Stderr)
		}
	}
	if !cached(r.Stderr, "RUN cat /artifact /artifact > /twice") {
		t.Errorf("final RUN not reported CACHED:\n%s", r.Stderr)
	}
	if a, b := digestFile(t, iid1), digestFile(t, iid2); a != b {
		t.Errorf("image digest with inline cache %s, want %s", b, a)
	}
}

// TestRemoteCacheCorruptBlobRebuilds: cache blobs whose bytes do not
// match their digest are refused with a warning and the steps that needed
// them run again; the build succeeds and the store holds no bad blob.
func TestRemoteCacheCorruptBlobRebuilds(t *testing.T) {
	reg := testutil.Registry(t)
	g1 := newGorae(t)
	dir := remoteCacheContext(t, sharedBase(t, g1, reg), "corrupt")
	cache := filepath.Join(t.TempDir(), "cache")
	g1.Must(t, dir, "build", "-q", "--cache-to", "type=local,dest="+cache+",mode=max", ".")
	var idx v1.IndexManifest
	b, _ := os.ReadFile(filepath.Join(cache, "index.json"))
	if err := json.Unmarshal(b, &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json = %s, %v", b, err)
	}
	mb, _ := os.ReadFile(filepath.Join(cache, "blobs", "sha256", idx.Manifests[0].Digest.Hex))
	var m v1.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		if err := os.WriteFile(filepath.Join(cache, "blobs", "sha256", l.Digest.Hex), []byte("corrupt"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g2 := newGorae(t)
	out := filepath.Join(t.TempDir(), "out")
	r := g2.Must(t, dir, "build", "--progress=plain", "--cache-from", "type=local,src="+cache, "--output", "type=local,dest="+out, ".")
	if !strings.Contains(r.Stderr, "WARNING: cache blob sha256:") || !strings.Contains(r.Stderr, "rebuilding the steps that needed it") {
		t.Errorf("no warning about the corrupt blob:\n%s", r.Stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "twice")); string(b) != "corrupt\ncorrupt\n" {
		t.Errorf("/twice = %q", b)
	}
	blobs := filepath.Join(g2.Root, "content", "blobs", "sha256")
	ents, _ := os.ReadDir(blobs)
	for _, e := range ents {
		f, err := os.Open(filepath.Join(blobs, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := v1.SHA256(f)
		f.Close()
		if err != nil || d.Hex != e.Name() {
			t.Errorf("store blob %s hashes to %s", e.Name(), d)
		}
	}
}

// A warm build hits at the top and resolves nothing below; mode=max must
// still export every step, so that a fresh root whose build changes the
// final stage's COPY --from finds the builder stage's RUN cached.
func TestRemoteCacheMaxFromWarmRoot(t *testing.T) {
	reg := testutil.Registry(t)
	g1 := newGorae(t)
	base := sharedBase(t, g1, reg)
	dir := remoteCacheContext(t, base, "warm")
	g1.Must(t, dir, "build", "-q", ".")
	cacheRef := reg + "/cache/warm:max"
	r := g1.Must(t, dir, "build", "--progress=plain", "--cache-to", "type=registry,ref="+cacheRef+",mode=max", ".")
	if !strings.Contains(r.Stderr, ": 4 records") {
		t.Errorf("a warm mode=max export should carry every step's record (4):\n%s", r.Stderr)
	}
	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(df), "cat /artifact /artifact", "cat /copied", 1)
	changed = strings.Replace(changed, "COPY --from=builder /artifact /artifact", "COPY --from=builder /artifact /copied", 1)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	g2 := newGorae(t)
	r = g2.Must(t, dir, "build", "--progress=plain", "--cache-from", "type=registry,ref="+cacheRef, ".")
	if !cached(r.Stderr, "echo warm > /artifact") {
		t.Errorf("the builder stage's RUN was not found in the mode=max cache of a warm build:\n%s", r.Stderr)
	}
}

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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

// fetchDockerfile fills the cache mount "pkgs" with a file no other build
// can write the same (the "download"); the mount is created owned by
// 1000:1000 with mode 0750, which a seeded mount must keep.
func fetchDockerfile(base string) string {
	return "FROM " + base + "\n" +
		"RUN --mount=type=cache,target=/cache,id=pkgs,uid=1000,gid=1000,mode=0750 " +
		`sh -c 'echo fetched-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d " \n") > /cache/pkg && ln -s pkg /cache/link'` + "\n"
}

// useDockerfile is a changed RUN (so it executes) that copies what the
// mount holds into the image, and how the mount's root looks.
func useDockerfile(base string) string {
	return "FROM " + base + "\n" +
		"RUN --mount=type=cache,target=/cache,id=pkgs " +
		`sh -c '(cat /cache/pkg || echo empty) > /pkg-from-cache; readlink /cache/link > /link; stat -c "%u %g %a" /cache > /cache-root'` + "\n"
}

// mountFile reads a file of cache mount id in g's root.
func mountFile(t *testing.T, g *testutil.Gorae, id, file string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(id))
	b, err := os.ReadFile(filepath.Join(g.Root, "mounts", hex.EncodeToString(sum[:12]), file))
	if err != nil {
		t.Fatalf("read cache mount %s: %v", id, err)
	}
	return string(b)
}

func hasMountDir(g *testutil.Gorae, id string) bool {
	sum := sha256.Sum256([]byte(id))
	_, err := os.Stat(filepath.Join(g.Root, "mounts", hex.EncodeToString(sum[:12])))
	return err == nil
}

type cacheMountsConfig struct {
	Mounts map[string]struct {
		Digest    v1.Hash `json:"digest"`
		MediaType string  `json:"mediaType"`
	} `json:"mounts"`
}

func registryCacheConfig(t *testing.T, ref string) cacheMountsConfig {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("read cache %s: %v", ref, err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var cfg cacheMountsConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	for id, mb := range cfg.Mounts {
		if !bytes.Contains(mustJSON(t, m.Layers), []byte(mb.Digest.String())) {
			t.Errorf("cache mount %s's blob %s is not among the manifest's layers", id, mb.Digest)
		}
	}
	return cfg
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkSeeded(t *testing.T, out, want string) {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(out, "pkg-from-cache")); err != nil || string(b) != want {
		t.Errorf("the image's copy of the cache mount = %q, %v; want %q (written by the first build)", b, err, want)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "link")); string(b) != "pkg\n" {
		t.Errorf("symlink in the seeded mount reads %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "cache-root")); string(b) != "1000 1000 750\n" {
		t.Errorf("seeded mount root is %q, want the exporter's 1000 1000 750", b)
	}
}

func TestCacheMountsTravelThroughRegistry(t *testing.T) {
	requireRoot(t)
	reg := testutil.Registry(t)
	g1 := newGorae(t)
	base := sharedBase(t, g1, reg)
	cacheRef := reg + "/cache/mounts:1"
	fetch := t.TempDir()
	testutil.WriteFiles(t, fetch, map[string]string{"Dockerfile": fetchDockerfile(base)})
	cacheTo := "type=registry,ref=" + cacheRef + ",cache-mounts=true"
	g1.Must(t, fetch, "build", "--progress=plain", "--cache-to", cacheTo, ".")
	want := mountFile(t, g1, "pkgs", "pkg")
	first := registryCacheConfig(t, cacheRef).Mounts["pkgs"]
	if first.Digest.Hex == "" || !strings.HasPrefix(first.MediaType, "application/vnd.gorae.cache.mount.v1.tar+") {
		t.Fatalf("the cache carries no mount pkgs: %+v", first)
	}
	// Exporting again with the mount unchanged names the same blob.
	g1.Must(t, fetch, "build", "--progress=plain", "--cache-to", cacheTo, ".")
	if again := registryCacheConfig(t, cacheRef).Mounts["pkgs"]; again.Digest != first.Digest {
		t.Errorf("unchanged mount exported as %s, first %s: it would upload again", again.Digest, first.Digest)
	}

	// A fresh machine whose RUN is a cache hit never seeds the mount.
	g2 := newGorae(t)
	r := g2.Must(t, fetch, "build", "--progress=plain", "--cache-from", cacheRef, ".")
	assertRunsCached(t, r.Stderr)
	if hasMountDir(g2, "pkgs") {
		t.Error("a cached RUN seeded its cache mount")
	}
	// A RUN that executes finds the first machine's mount.
	use := t.TempDir()
	testutil.WriteFiles(t, use, map[string]string{"Dockerfile": useDockerfile(base)})
	out := filepath.Join(t.TempDir(), "out")
	r = g2.Must(t, use, "build", "--progress=plain", "--cache-from", cacheRef, "--output", "type=local,dest="+out, ".")
	checkSeeded(t, out, want)
	if !strings.Contains(r.Stderr, `restored cache mount "pkgs"`) {
		t.Errorf("no word of the restored mount:\n%s", r.Stderr)
	}
}

// localCacheBlobs counts the blobs of an OCI layout.
func localCacheBlobs(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestCacheMountsTravelThroughLocalCache(t *testing.T) {
	requireRoot(t)
	g1 := newGorae(t)
	cache := filepath.Join(t.TempDir(), "cache")
	fetch := t.TempDir()
	testutil.WriteFiles(t, fetch, map[string]string{"Dockerfile": fetchDockerfile("busybox")})
	cacheTo := "type=local,dest=" + cache + ",cache-mounts=true"
	g1.Must(t, fetch, "build", "--progress=plain", "--cache-to", cacheTo, ".")
	want := mountFile(t, g1, "pkgs", "pkg")
	n := localCacheBlobs(t, cache)
	g1.Must(t, fetch, "build", "--progress=plain", "--cache-to", cacheTo, ".")
	if m := localCacheBlobs(t, cache); m != n {
		t.Errorf("a second export with the mount unchanged wrote %d new blobs", m-n)
	}

	use := t.TempDir()
	testutil.WriteFiles(t, use, map[string]string{"Dockerfile": useDockerfile("busybox")})
	out := filepath.Join(t.TempDir(), "out")
	g2 := newGorae(t)
	g2.Must(t, use, "build", "--progress=plain", "--cache-from", "type=local,src="+cache, "--output", "type=local,dest="+out, ".")
	checkSeeded(t, out, want)

	// A corrupt mount blob: one warning, the mount starts empty, the
	// build succeeds.
	mountBlob := localMountBlob(t, cache, "pkgs")
	os.WriteFile(filepath.Join(cache, "blobs", "sha256", mountBlob.Hex), []byte("not a tar at all"), 0o644)
	g3 := newGorae(t)
	out3 := filepath.Join(t.TempDir(), "out3")
	r := g3.Must(t, use, "build", "--progress=plain", "--cache-from", "type=local,src="+cache, "--output", "type=local,dest="+out3, ".")
	if c := strings.Count(r.Stderr, `cache mount "pkgs" is not restored`); c != 1 {
		t.Errorf("%d warnings about the corrupt mount blob, want 1:\n%s", c, r.Stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out3, "pkg-from-cache")); string(b) != "empty\n" {
		t.Errorf("with a corrupt blob the mount held %q, want it empty", b)
	}
}

// localMountBlob returns the digest of cache mount id in the layout's
// cache config.
func localMountBlob(t *testing.T, dir, id string) v1.Hash {
	t.Helper()
	idx, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(idx))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] != "gorae-cache" {
			continue
		}
		raw, _ := os.ReadFile(filepath.Join(dir, "blobs", "sha256", d.Digest.Hex))
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		cfgRaw, _ := os.ReadFile(filepath.Join(dir, "blobs", "sha256", m.Config.Digest.Hex))
		var cfg cacheMountsConfig
		if err := json.Unmarshal(cfgRaw, &cfg); err != nil {
			t.Fatal(err)
		}
		if mb, ok := cfg.Mounts[id]; ok {
			return mb.Digest
		}
	}
	t.Fatalf("no cache mount %s in %s", id, dir)
	return v1.Hash{}
}

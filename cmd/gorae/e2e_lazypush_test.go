package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/internal/testutil"
)

// lazyLayers returns the layers of the image iidfile names that g's
// content store has only a remote record for, failing if there are none.
func lazyLayers(t *testing.T, g *testutil.Gorae, iidfile string) []v1.Hash {
	t.Helper()
	d, err := v1.NewHash(digestFile(t, iidfile))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(g.Root, "content", "blobs", "sha256", d.Hex))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseManifest(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var lazy []v1.Hash
	for _, l := range m.Layers {
		if _, err := os.Stat(filepath.Join(g.Root, "content", "remote", "sha256", l.Digest.Hex)); err == nil {
			lazy = append(lazy, l.Digest)
		}
	}
	if len(lazy) == 0 {
		t.Fatalf("no layer of %s is lazy", d)
	}
	return lazy
}

// assertStillLazy fails if any of the layers was downloaded into g's root.
func assertStillLazy(t *testing.T, g *testutil.Gorae, layers []v1.Hash, after string) {
	t.Helper()
	for _, d := range layers {
		if _, err := os.Stat(filepath.Join(g.Root, "content", "blobs", "sha256", d.Hex)); err == nil {
			t.Errorf("%s downloaded lazy layer %s; it should have been mounted", after, d)
		}
		if _, err := os.Stat(filepath.Join(g.Root, "content", "remote", "sha256", d.Hex)); err != nil {
			t.Errorf("remote record of %s gone after %s: %v", d, after, err)
		}
	}
}

// TestLazyLayersPushedByMount builds on a fresh root from a registry cache
// only, then pushes the image in later, separate commands to other
// repositories of the same registry: the lazy layers are mounted there,
// never downloaded, and the pushed images are whole.
func TestLazyLayersPushedByMount(t *testing.T) {
	reg := testutil.Registry(t)
	g1 := newGorae(t)
	base := sharedBase(t, g1, reg)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM " + base + "\n" +
			"RUN head -c 300000 /dev/urandom > /big && echo one > /one\n" +
			"RUN echo two > /two\n" +
			`CMD ["cat", "/one", "/two"]` + "\n",
	})
	cacheRef := reg + "/cache/lazypush:c"
	g1.Must(t, dir, "build", "-q", "--cache-to", "type=registry,ref="+cacheRef+",mode=max", ".")

	g2 := newGorae(t)
	iid := filepath.Join(t.TempDir(), "iid")
	r := g2.Must(t, dir, "build", "--progress=plain", "--iidfile", iid,
		"--cache-from", "type=registry,ref="+cacheRef, "-t", "lazypush:1", ".")
	assertRunsCached(t, r.Stderr)
	lazy := lazyLayers(t, g2, iid)
	want := digestFile(t, iid)

	dst := reg + "/pushed/lazypush:1"
	g2.Must(t, ".", "tag", "lazypush:1", dst)
	r = g2.Must(t, ".", "push", dst)
	if !strings.Contains(r.Stdout, dst+"@"+want) {
		t.Errorf("push printed %q, want %s@%s", r.Stdout, dst, want)
	}
	assertStillLazy(t, g2, lazy, "gorae push")

	// A later build on the stored image that adds only metadata keeps
	// the base layers lazy and pushes them the same way.
	later := t.TempDir()
	testutil.WriteFiles(t, later, map[string]string{"Dockerfile": "FROM lazypush:1\nLABEL again=yes\n"})
	again := reg + "/again/lazypush:1"
	iid2 := filepath.Join(t.TempDir(), "iid")
	g2.Must(t, later, "build", "-q", "--iidfile", iid2, "-t", again, "--push", ".")
	assertStillLazy(t, g2, lazy, "gorae build --push")

	for ref, want := range map[string]string{dst: want, again: digestFile(t, iid2)} {
		nr, _ := name.ParseReference(ref, name.Insecure)
		img, err := remote.Image(nr)
		if err != nil {
			t.Fatalf("read pushed %s: %v", ref, err)
		}
		if d, _ := img.Digest(); d.String() != want {
			t.Errorf("%s has digest %s, want %s", ref, d, want)
		}
	}

	// A third root pulls the pushed images (layers and all) and runs them.
	g3 := newGorae(t)
	for _, ref := range []string{dst, again} {
		g3.Must(t, ".", "pull", ref)
		r = g3.Must(t, ".", "run", "--rm", ref)
		if r.Stdout != "one\ntwo\n" {
			t.Errorf("run of the pulled %s printed %q, want \"one\\ntwo\\n\"", ref, r.Stdout)
		}
	}
	for _, d := range lazy {
		if _, err := os.Stat(filepath.Join(g3.Root, "content", "blobs", "sha256", d.Hex)); err != nil {
			t.Errorf("pull did not store layer %s: %v", d, err)
		}
	}
}

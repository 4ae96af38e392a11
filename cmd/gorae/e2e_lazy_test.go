package main

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/internal/testutil"
)

// lastLayer returns the last layer digest of the manifest iidfile names,
// read from g's content store.
func lastLayer(t *testing.T, g *testutil.Gorae, iidfile string) v1.Hash {
	t.Helper()
	d, err := v1.NewHash(digestFile(t, iidfile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(g.Root, "content", "blobs", "sha256", d.Hex))
	if err != nil {
		t.Fatalf("manifest of the built image is not local: %v", err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(b, &m); err != nil || len(m.Layers) == 0 {
		t.Fatalf("manifest %s: %v", b, err)
	}
	return m.Layers[len(m.Layers)-1].Digest
}

// tarHas reports whether the tar at p holds a file whose name contains s.
func tarHas(t *testing.T, p, s string) bool {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return false
		}
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		if strings.Contains(h.Name, s) {
			return true
		}
	}
}

func TestLazyLayersFromRegistryCache(t *testing.T) {
	reg := testutil.Registry(t)
	g1 := newGorae(t)
	base := sharedBase(t, g1, reg)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM " + base + "\nRUN head -c 3000000 /dev/urandom > /big && echo lazy > /marker\n",
	})
	cacheRef := reg + "/cache/lazy:c"
	g1.Must(t, dir, "build", "-q", "--cache-to", "type=registry,ref="+cacheRef+",mode=max", ".")

	// A fresh root: every step hits the registry cache, and the RUN
	// layer stays in the registry.
	g2 := newGorae(t)
	iid := filepath.Join(t.TempDir(), "iid")
	r := g2.Must(t, dir, "build", "--progress=plain", "--iidfile", iid,
		"--cache-from", "type=registry,ref="+cacheRef, "-t", "lazyapp:1", ".")
	assertRunsCached(t, r.Stderr)
	run := lastLayer(t, g2, iid)
	blob := filepath.Join(g2.Root, "content", "blobs", "sha256", run.Hex)
	record := filepath.Join(g2.Root, "content", "remote", "sha256", run.Hex)
	if _, err := os.Stat(blob); err == nil {
		t.Fatalf("RUN layer %s was downloaded by the build; it should stay lazy", run)
	}
	rec, err := os.ReadFile(record)
	if err != nil || !strings.Contains(string(rec), `"ref":"`+reg+`/cache/lazy"`) {
		t.Fatalf("remote record of %s = %s, %v", run, rec, err)
	}

	// The records a --cache-from build used are the root's own from then
	// on: a rebuild without --cache-from executes nothing, gives the same
	// image and still downloads nothing.
	iid2 := filepath.Join(t.TempDir(), "iid2")
	r = g2.Must(t, dir, "build", "--progress=plain", "--iidfile", iid2, "-t", "lazyapp:1", ".")
	assertRunsCached(t, r.Stderr)
	if a, b := digestFile(t, iid), digestFile(t, iid2); a != b {
		t.Errorf("rebuild without --cache-from gave %s, the --cache-from build %s", b, a)
	}
	if _, err := os.Stat(blob); err == nil {
		t.Fatalf("the rebuild downloaded the lazy RUN layer %s", run)
	}

	// prune keeps what a named image needs, lazy or not, and removes a
	// remote record nothing needs.
	orphan := filepath.Join(filepath.Dir(record), strings.Repeat("ab", 32))
	if err := os.WriteFile(orphan, rec, 0o644); err != nil {
		t.Fatal(err)
	}
	g2.Must(t, ".", "prune")
	if _, err := os.Stat(record); err != nil {
		t.Fatalf("prune removed the remote record of a named image's layer: %v", err)
	}
	if _, err := os.Stat(orphan); err == nil {
		t.Error("prune kept a remote record no image needs")
	}

	// An unreachable registry is named, with what to do.
	dead := strings.Replace(string(rec), reg, "127.0.0.1:1", 1)
	if err := os.WriteFile(record, []byte(dead), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x.tar")
	r = g2.Run(t, ".", "save", "-o", out, "lazyapp:1")
	for _, want := range []string{"layer " + run.String() + " of lazyapp:1 is not local", "127.0.0.1:1/cache/lazy", "without --cache-from"} {
		if r.Code == 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("save with the registry unreachable: exit %d, stderr lacks %q:\n%s", r.Code, want, r.Stderr)
		}
	}
	if err := os.WriteFile(record, rec, 0o644); err != nil {
		t.Fatal(err)
	}

	// save fetches the layer: it is local from then on.
	g2.Must(t, ".", "save", "-o", out, "lazyapp:1")
	if !tarHas(t, out, run.Hex) {
		t.Errorf("saved tar lacks the RUN layer %s", run)
	}
	if _, err := os.Stat(blob); err != nil {
		t.Errorf("RUN layer is not local after save: %v", err)
	}
	if _, err := os.Stat(record); err == nil {
		t.Error("remote record survived the fetch")
	}

	// push to another repository of the same registry, then prune: the
	// image stays whole.
	dst := reg + "/other/lazyapp:1"
	g2.Must(t, ".", "tag", "lazyapp:1", dst)
	g2.Must(t, ".", "push", dst)
	ref, _ := name.ParseReference(dst, name.Insecure)
	pushed, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("read pushed image: %v", err)
	}
	if l, err := pushed.LayerByDigest(run); err != nil {
		t.Errorf("pushed image lacks the RUN layer: %v", err)
	} else if _, err := l.Size(); err != nil {
		t.Errorf("pushed RUN layer: %v", err)
	}
	g2.Must(t, ".", "prune")
	g2.Must(t, ".", "save", "-o", out, "lazyapp:1")
	if !tarHas(t, out, run.Hex) {
		t.Errorf("tar saved after prune lacks the RUN layer %s", run)
	}
}

// A build pulls a base image's manifest and config only: its layers stay
// in the registry until a step reads them, so a fresh root whose every
// step comes from a --cache-from registry downloads and unpacks nothing.
func TestBaseLayersStayLazy(t *testing.T) {
	reg := testutil.Registry(t)
	g1 := newGorae(t)
	// Every test root has busybox's layer; this base has one of its own.
	base := reg + "/base/lazy:1"
	bdir := t.TempDir()
	testutil.WriteFiles(t, bdir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo " + t.Name() + " > /base-id\n"})
	g1.Must(t, bdir, "build", "-q", "--push", "-t", base, ".")
	ref, _ := name.ParseReference(base, name.Insecure)
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil || len(ls) < 2 {
		t.Fatalf("base layers: %v", err)
	}
	baseLayer, _ := ls[len(ls)-1].Digest()
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM " + base + "\nRUN echo lazy > /marker\n",
	})
	cacheRef := reg + "/cache/lazybase:c"
	g1.Must(t, dir, "build", "-q", "--cache-to", "type=registry,ref="+cacheRef+",mode=max", ".")

	g2 := newGorae(t)
	r := g2.Must(t, dir, "build", "--progress=plain", "--cache-from", "type=registry,ref="+cacheRef, "-t", "lazybase:1", ".")
	assertRunsCached(t, r.Stderr)
	blob := filepath.Join(g2.Root, "content", "blobs", "sha256", baseLayer.Hex)
	record := filepath.Join(g2.Root, "content", "remote", "sha256", baseLayer.Hex)
	if _, err := os.Stat(blob); err == nil {
		t.Fatal("an all-cached build downloaded the base image's layer")
	}
	rec, err := os.ReadFile(record)
	if err != nil || !strings.Contains(string(rec), `"ref":"`+reg+`/base/lazy"`) || !strings.Contains(string(rec), `"base":true`) {
		t.Fatalf("remote record of the base layer = %s, %v", rec, err)
	}
	if chains, _ := filepath.Glob(filepath.Join(g2.Root, "snapshots", "*", "fs")); len(chains) != 0 {
		t.Errorf("an all-cached build unpacked %v", chains)
	}

	// Unreachable, the registry is named and gorae pull suggested.
	dead := strings.Replace(string(rec), reg, "127.0.0.1:1", 1)
	if err := os.WriteFile(record, []byte(dead), 0o644); err != nil {
		t.Fatal(err)
	}
	r = g2.Run(t, ".", "run", "--rm", "lazybase:1", "cat", "/marker")
	for _, want := range []string{"layer " + baseLayer.String() + " of " + base + " is not local", "127.0.0.1:1/base/lazy", "gorae pull " + base} {
		if r.Code == 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("run with the base's registry unreachable: exit %d, stderr lacks %q:\n%s", r.Code, want, r.Stderr)
		}
	}
	if err := os.WriteFile(record, rec, 0o644); err != nil {
		t.Fatal(err)
	}

	// A step that reads the base fetches it; gorae pull fetches it whole.
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM " + base + "\nRUN cat /marker 2>/dev/null; echo other > /other\n"})
	g2.Must(t, dir, "build", "-q", "-t", "lazybase:2", ".")
	if _, err := os.Stat(blob); err != nil {
		t.Fatalf("a RUN on the base did not fetch its layer: %v", err)
	}
	if _, err := os.Stat(record); err == nil {
		t.Error("remote record survived the fetch")
	}
	g3 := newGorae(t)
	g3.Must(t, dir, "build", "-q", "-t", "lazybase:3", "--cache-from", "type=registry,ref="+cacheRef, ".")
	g3.Must(t, ".", "pull", base)
	if _, err := os.Stat(filepath.Join(g3.Root, "content", "blobs", "sha256", baseLayer.Hex)); err != nil {
		t.Errorf("gorae pull left the base layer lazy: %v", err)
	}

	// gorae run of an image whose base is lazy streams the layer and says so.
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo lazy > /marker\n"})
	g4 := newGorae(t)
	g4.Must(t, dir, "build", "-q", "-t", "lazybase:4", "--cache-from", "type=registry,ref="+cacheRef, ".")
	r = g4.Must(t, ".", "run", "--rm", "lazybase:4", "cat", "/base-id")
	if r.Stdout != t.Name()+"\n" || !strings.Contains(r.Stderr, "pulled layer "+baseLayer.String()[:19]) {
		t.Errorf("run of a lazy base: stdout %q, stderr lacks the layer's pull:\n%s", r.Stdout, r.Stderr)
	}
}

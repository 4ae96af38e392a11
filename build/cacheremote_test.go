package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/solver"
)

// testReg is an in-process registry that counts blob uploads and mounts,
// blob GETs, and can serve tampered bytes for chosen blobs.
type testReg struct {
	host string
	ro   registry.Options

	mu       sync.Mutex
	uploads  int // blob upload sessions that were not mounts
	mounts   int
	gets     map[string]int // blob digest → GETs
	tampered map[string]bool
}

func newTestReg(t *testing.T) *testReg {
	r := &testReg{gets: map[string]int{}, tampered: map[string]bool{}}
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		p := req.URL.Path
		switch {
		case strings.HasSuffix(p, "/blobs/uploads/") && req.Method == http.MethodPost:
			if req.URL.Query().Get("mount") != "" && req.URL.Query().Get("from") != "" {
				r.mounts++
			} else {
				r.uploads++
			}
		case strings.Contains(p, "/blobs/sha256:") && req.Method == http.MethodGet:
			d := p[strings.LastIndex(p, "/")+1:]
			r.gets[d]++
			if r.tampered[d] {
				r.mu.Unlock()
				w.Header().Set("Content-Type", "application/octet-stream")
				io.WriteString(w, "tampered bytes")
				return
			}
		}
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	r.ro = registry.Options{Keychain: authn.NewMultiKeychain()}
	return r
}

func (r *testReg) counts() (uploads, mounts int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u, m := r.uploads, r.mounts
	r.uploads, r.mounts = 0, 0
	return u, m
}

func (r *testReg) getsOf(d v1.Hash) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gets[d.String()]
}

func testRoot(t *testing.T) *Root {
	t.Helper()
	r, err := OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// putLayer stores a fake layer blob and returns its record entry.
func putLayer(t *testing.T, c *content.Store, s string) ops.Layer {
	t.Helper()
	d, err := c.PutBytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return ops.Layer{Digest: d, DiffID: d, Size: int64(len(s)), MediaType: types.OCILayer}
}

func state(ls ...ops.Layer) *ops.State {
	return &ops.State{Layers: ls, Added: true, Created: 1700000000}
}

func collectWarns(warns *[]string) func(string, ...any) {
	var mu sync.Mutex
	return func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		*warns = append(*warns, fmt.Sprintf(f, a...))
	}
}

func TestRegistryCacheAppendsAndSkipsBlobs(t *testing.T) {
	reg := newTestReg(t)
	root := testRoot(t)
	base, a, b := putLayer(t, root.Content, "base"), putLayer(t, root.Content, "a"), putLayer(t, root.Content, "b")
	spec := CacheSpec{Type: "registry", Ref: reg.host + "/cache/app:main", Mode: "max"}
	var warns []string
	err := exportRegistry(t.Context(), root.Content, nil, spec, reg.ro,
		map[string]*ops.State{"k1": state(base), "k2": state(base, a)}, nil, collectWarns(&warns), nil)
	if err != nil {
		t.Fatal(err)
	}
	if up, _ := reg.counts(); up != 3 { // base, a, config
		t.Errorf("first export uploaded %d blobs, want 3 (2 layers + config)", up)
	}
	// A second branch appends: only its new layer and the config go up.
	err = exportRegistry(t.Context(), root.Content, nil, spec, reg.ro,
		map[string]*ops.State{"k3": state(base, b), "k2": state(base, a)}, nil, collectWarns(&warns), nil)
	if err != nil {
		t.Fatal(err)
	}
	if up, _ := reg.counts(); up != 2 {
		t.Errorf("append uploaded %d blobs, want 2 (layer b + config)", up)
	}
	rc := importCaches(t.Context(), []CacheSpec{{Type: "registry", Ref: spec.Ref}}, reg.ro, collectWarns(&warns))
	for _, k := range []string{"k1", "k2", "k3"} {
		if _, ok := rc.load(k); !ok {
			t.Errorf("record %s missing after the append", k)
		}
	}
	if s, _ := rc.load("k3"); s == nil || len(s.Layers) != 2 || s.Layers[1].Digest != b.Digest || s.Created != 1700000000 {
		t.Errorf("record k3 = %+v", s)
	}
	if len(rc.blobs) != 3 {
		t.Errorf("import knows %d blobs, want 3", len(rc.blobs))
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
}

func TestRegistryCacheRefusesToOverwriteImage(t *testing.T) {
	reg := newTestReg(t)
	root := testRoot(t)
	ref, _ := reg.ro.Parse(reg.host + "/app:1")
	img := &cacheImage{config: []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}`)}
	d, _, _ := v1.SHA256(bytes.NewReader(img.config))
	img.manifest = fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[]}`,
		types.OCIManifestSchema1, types.OCIConfigJSON, d, len(img.config))
	if err := remote.Put(ref, img, reg.ro.Remote(t.Context())...); err != nil {
		t.Fatal(err)
	}
	err := exportRegistry(t.Context(), root.Content, nil, CacheSpec{Type: "registry", Ref: ref.String()}, reg.ro, nil, nil, t.Logf, nil)
	if err == nil || !strings.Contains(err.Error(), "already holds an image, not a gorae cache") {
		t.Errorf("export over an image = %v", err)
	}
}

func TestCacheImportIsLazy(t *testing.T) {
	reg := newTestReg(t)
	src := testRoot(t)
	base, top := putLayer(t, src.Content, "base layer"), putLayer(t, src.Content, "top layer")
	ref := reg.host + "/cache/lazy:1"
	k1, k2 := solver.Key{1}, solver.Key{2}
	if err := exportRegistry(t.Context(), src.Content, nil, CacheSpec{Type: "registry", Ref: ref}, reg.ro,
		map[string]*ops.State{keyHex(k1): state(base), keyHex(k2): state(base, top)}, nil, t.Logf, nil); err != nil {
		t.Fatal(err)
	}
	root := testRoot(t)
	bc := &buildCache{root: root, compression: archive.Gzip}
	done := bc.importRemote(t.Context(), Options{CacheFrom: []CacheSpec{{Type: "registry", Ref: ref}}, Registry: reg.ro, Progress: testPrinter(t)})
	defer done()
	s, ok, err := bc.Load(t.Context(), k2)
	if err != nil || !ok || len(s.Layers) != 2 {
		t.Fatalf("Load of an imported record = %+v %v %v", s, ok, err)
	}
	if root.Content.Has(top.Digest) || reg.getsOf(top.Digest) != 0 || reg.getsOf(base.Digest) != 0 {
		t.Fatal("a cache hit downloaded a layer before anything needed it")
	}
	rc, err := root.Content.Layer(top.Digest, top.DiffID, top.Size, top.MediaType).Compressed()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "top layer" || !root.Content.Has(top.Digest) || reg.getsOf(top.Digest) != 1 {
		t.Errorf("lazy fetch gave %q, stored=%v, GETs=%d", b, root.Content.Has(top.Digest), reg.getsOf(top.Digest))
	}
	if root.Content.Has(base.Digest) {
		t.Error("fetching one layer fetched another")
	}
	if recs := bc.records(state(base, top), "max"); len(recs) != 1 || recs[keyHex(k2)] == nil {
		t.Errorf("max export after one hit = %v, want only k2 (what this build used)", recs)
	}
	// min also keeps the imported records inside the final image, so an
	// inline cache (and the image digest) repeats.
	if recs := bc.records(state(base, top), "min"); len(recs) != 2 || recs[keyHex(k1)] == nil {
		t.Errorf("min export = %v, want k1 and k2", recs)
	}
	if recs := bc.records(state(top), "min"); len(recs) != 0 {
		t.Errorf("min export for a final image without the base layer = %v, want none", recs)
	}
	done()
	if _, err := root.Content.Open(base.Digest); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the fetcher outlived the build: Open = %v", err)
	}
}

func testPrinter(t *testing.T) *progress.Printer {
	p, err := progress.New(io.Discard, "plain")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCorruptRemoteBlobRebuilds(t *testing.T) {
	reg := newTestReg(t)
	src := testRoot(t)
	l := putLayer(t, src.Content, "honest layer")
	ref := reg.host + "/cache/corrupt:1"
	k := solver.Key{7}
	if err := exportRegistry(t.Context(), src.Content, nil, CacheSpec{Type: "registry", Ref: ref}, reg.ro,
		map[string]*ops.State{keyHex(k): state(l)}, nil, t.Logf, nil); err != nil {
		t.Fatal(err)
	}
	reg.mu.Lock()
	reg.tampered[l.Digest.String()] = true
	reg.mu.Unlock()
	root := testRoot(t)
	bc := &buildCache{root: root, compression: archive.Gzip}
	defer bc.importRemote(t.Context(), Options{CacheFrom: []CacheSpec{{Type: "registry", Ref: ref}}, Registry: reg.ro, Progress: testPrinter(t)})()
	if _, ok, _ := bc.Load(t.Context(), k); !ok {
		t.Fatal("the record did not load")
	}
	_, err := root.Content.Open(l.Digest)
	var warns []string
	if !bc.retry(err, collectWarns(&warns)) {
		t.Fatalf("a tampered blob (%v) did not ask for a rebuild", err)
	}
	if root.Content.Has(l.Digest) {
		t.Error("the tampered blob was stored")
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "rebuilding the steps that needed it") {
		t.Errorf("warnings = %q", warns)
	}
	if _, ok, _ := bc.Load(t.Context(), k); ok {
		t.Error("the record naming the tampered blob still loads")
	}
	if bc.retry(err, collectWarns(&warns)) {
		t.Error("the same bad blob asked for a second rebuild")
	}
}

func TestCacheImportWarnsAndGoesOn(t *testing.T) {
	reg := newTestReg(t)
	var warns []string
	rc := importCaches(t.Context(), []CacheSpec{
		{Type: "registry", Ref: reg.host + "/nothing/here:1"},
		{Type: "local", Dir: filepath.Join(t.TempDir(), "absent")},
	}, reg.ro, collectWarns(&warns))
	if len(rc.records) != 0 || len(warns) != 2 {
		t.Fatalf("records %d, warnings %q", len(rc.records), warns)
	}
	if !strings.HasPrefix(warns[0], "cache import from "+reg.host+"/nothing/here:1 skipped: ") {
		t.Errorf("warning %q", warns[0])
	}
}

func TestLocalCacheRoundTrip(t *testing.T) {
	root := testRoot(t)
	a, b := putLayer(t, root.Content, "layer a"), putLayer(t, root.Content, "layer b")
	dir := filepath.Join(t.TempDir(), "cache")
	var warns []string
	if err := exportLocal(root.Content, nil, dir, map[string]*ops.State{"k1": state(a)}, nil, collectWarns(&warns), nil); err != nil {
		t.Fatal(err)
	}
	// Another image in the same layout must survive the cache's update.
	idx, err := readIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	other := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: b.Digest, Size: 1, Annotations: map[string]string{refNameAnnotation: "app"}}
	idx.Manifests = append(idx.Manifests, other)
	raw, _ := json.Marshal(idx)
	os.WriteFile(filepath.Join(dir, "index.json"), raw, 0o644)
	if err := exportLocal(root.Content, nil, dir, map[string]*ops.State{"k2": state(a, b)}, nil, collectWarns(&warns), nil); err != nil {
		t.Fatal(err)
	}
	idx, err = readIndex(dir)
	if err != nil || len(idx.Manifests) != 2 || idx.Manifests[0].Digest != b.Digest {
		t.Fatalf("index after the update = %+v, %v", idx, err)
	}
	for _, l := range []ops.Layer{a, b} {
		if got, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", l.Digest.Hex)); err != nil || int64(len(got)) != l.Size {
			t.Errorf("blob %s in the layout: %q, %v", l.Digest, got, err)
		}
	}
	fresh := testRoot(t)
	rc := importCaches(t.Context(), []CacheSpec{{Type: "local", Dir: dir}}, registry.Options{}, collectWarns(&warns))
	if len(rc.records) != 2 {
		t.Fatalf("imported %d records, want 2 (k1 appended to k2)", len(rc.records))
	}
	fresh.Content.SetFetcher(rc.fetch)
	f, err := fresh.Content.OpenContext(context.Background(), b.Digest)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != "layer b" {
		t.Errorf("fetched %q from the layout", got)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	// A corrupt config is a warning at import, never a failure.
	m, _ := findLocalCache(idx)
	mraw, _ := readLayoutBlob(dir, m)
	man, _ := v1.ParseManifest(bytes.NewReader(mraw))
	os.WriteFile(filepath.Join(dir, "blobs", "sha256", man.Config.Digest.Hex), []byte("{garbage"), 0o644)
	rc = importCaches(t.Context(), []CacheSpec{{Type: "local", Dir: dir}}, registry.Options{}, collectWarns(&warns))
	if len(rc.records) != 0 || len(warns) != 1 || !strings.Contains(warns[0], "corrupt") {
		t.Errorf("corrupt config: %d records, warnings %q", len(rc.records), warns)
	}
}

func TestLocalCacheExportFailureKeepsOldIndex(t *testing.T) {
	root := testRoot(t)
	a := putLayer(t, root.Content, "layer a")
	dir := filepath.Join(t.TempDir(), "cache")
	if err := exportLocal(root.Content, nil, dir, map[string]*ops.State{"k1": state(a)}, nil, t.Logf, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	// k2's blob is offered by a --cache-from source that fails to deliver
	// it (a lost connection, a full disk): the export must fail whole.
	gone := putLayer(t, root.Content, "gone soon")
	root.Content.Remove(gone.Digest)
	rc := &remoteCache{blobs: map[v1.Hash]blobSource{gone.Digest: {dir: t.TempDir()}}}
	root.Content.SetFetcher(rc.fetch)
	err := exportLocal(root.Content, rc, dir, map[string]*ops.State{"k2": state(a, gone)}, nil, t.Logf, nil)
	if err == nil || !strings.Contains(err.Error(), gone.Digest.String()) {
		t.Fatalf("export with an undeliverable blob = %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if !bytes.Equal(before, after) {
		t.Error("a failed export changed index.json")
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("a failed export left %s behind", e.Name())
		}
	}
}

func TestInlineCacheInConfig(t *testing.T) {
	root := testRoot(t)
	a := putLayer(t, root.Content, "layer a")
	img, err := assemble(root.Content, assembly{config: &v1.ConfigFile{OS: "linux", Architecture: "amd64"}, final: state(a)})
	if err != nil {
		t.Fatal(err)
	}
	withRecs, err := withInlineCache(img, map[string]*ops.State{"k": state(a)})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := withRecs.Manifest()
	raw, _ := withRecs.RawConfigFile()
	cfg, err := parseCacheConfig(bytes.NewReader(raw), m.Config)
	if err != nil || cfg == nil || cfg.Records["k"] == nil || cfg.Records["k"].Layers[0].Digest != a.Digest {
		t.Fatalf("inline records = %+v, %v", cfg, err)
	}
	cf, err := withRecs.ConfigFile()
	if err != nil || cf.OS != "linux" || len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("config after adding records = %+v, %v", cf, err)
	}
	if ls, _ := withRecs.Layers(); len(ls) != 1 {
		t.Errorf("image has %d layers, want 1", len(ls))
	}
	plain, _ := img.RawConfigFile()
	if c, _ := parseCacheConfig(bytes.NewReader(plain), v1.Descriptor{Digest: mustDigest(plain)}); c != nil {
		t.Error("an image without inline records yielded records")
	}
}

func mustDigest(b []byte) v1.Hash {
	d, _, _ := v1.SHA256(bytes.NewReader(b))
	return d
}

// TestMountSources: blobs imported from a registry cache are offered for
// a cross-repository mount to another repository of the same registry
// only (the in-process registry shares blobs across repositories, so the
// mount itself is covered by the end-to-end test).
func TestMountSources(t *testing.T) {
	reg := newTestReg(t)
	src := testRoot(t)
	a := putLayer(t, src.Content, "layer a")
	from := reg.host + "/cache/one:1"
	if err := exportRegistry(t.Context(), src.Content, nil, CacheSpec{Type: "registry", Ref: from}, reg.ro,
		map[string]*ops.State{"k": state(a)}, nil, t.Logf, nil); err != nil {
		t.Fatal(err)
	}
	rc := importCaches(t.Context(), []CacheSpec{{Type: "registry", Ref: from}}, reg.ro, t.Logf)
	repo := func(s string) name.Repository {
		r, err := reg.ro.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return r.Context()
	}
	if ref, ok := mountSource(rc, a.Digest, repo(reg.host+"/cache/two:1")); !ok || ref.Context().RepositoryStr() != "cache/one" {
		t.Errorf("mount source for another repository = %v, %v; want cache/one", ref, ok)
	}
	for _, dst := range []string{from, "other.example/cache/one:1"} {
		if ref, ok := mountSource(rc, a.Digest, repo(dst)); ok {
			t.Errorf("mount source for %s = %v; want none", dst, ref)
		}
	}
	root := testRoot(t)
	img, err := assemble(root.Content, assembly{config: &v1.ConfigFile{OS: "linux", Architecture: "amd64"}, final: state(a)})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := mountableImage{Image: img, rc: rc}.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if ml, ok := ls[0].(*remote.MountableLayer); !ok || ml.Reference.Context().RepositoryStr() != "cache/one" {
		t.Errorf("final image layer %T is not mountable from the cache", ls[0])
	}
}

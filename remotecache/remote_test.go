package remotecache

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/imageconfig"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/registry"
)

// testRoot is what a build's root gives the remote cache: a content
// store, and a directory for cache mounts.
type testRoot struct {
	Dir     string
	Content *content.Store
}

func newTestRoot(t *testing.T) *testRoot {
	t.Helper()
	dir := t.TempDir()
	c, err := content.Open(filepath.Join(dir, "content"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &testRoot{Dir: dir, Content: c}
}

func TestRegistryCacheAppendsAndSkipsBlobs(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	root := newTestRoot(t)
	base, a, b := testutil.PutLayer(t, root.Content, "base"), testutil.PutLayer(t, root.Content, "a"), testutil.PutLayer(t, root.Content, "b")
	spec := Spec{Type: "registry", Ref: reg.Host + "/cache/app:main", Mode: "max"}
	var warns []string
	err := exportRegistry(t.Context(), root.Content, nil, spec, reg.Options,
		map[string]*ops.State{"k1": testutil.Record(base), "k2": testutil.Record(base, a)}, nil, testutil.CollectWarnings(&warns), nil)
	if err != nil {
		t.Fatal(err)
	}
	if up, _ := reg.Counts(); up != 3 { // base, a, config
		t.Errorf("first export uploaded %d blobs, want 3 (2 layers + config)", up)
	}
	// A second branch appends: only its new layer and the config go up.
	err = exportRegistry(t.Context(), root.Content, nil, spec, reg.Options,
		map[string]*ops.State{"k3": testutil.Record(base, b), "k2": testutil.Record(base, a)}, nil, testutil.CollectWarnings(&warns), nil)
	if err != nil {
		t.Fatal(err)
	}
	if up, _ := reg.Counts(); up != 2 {
		t.Errorf("append uploaded %d blobs, want 2 (layer b + config)", up)
	}
	rc := Import(t.Context(), []Spec{{Type: "registry", Ref: spec.Ref}}, reg.Options, testutil.CollectWarnings(&warns))
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
	reg := testutil.NewMemRegistry(t)
	root := newTestRoot(t)
	ref, _ := reg.Options.Parse(reg.Host + "/app:1")
	img := &rawImage{mediaType: types.OCIManifestSchema1, config: []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}`)}
	d, _, _ := v1.SHA256(bytes.NewReader(img.config))
	img.manifest = fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[]}`,
		types.OCIManifestSchema1, types.OCIConfigJSON, d, len(img.config))
	if err := remote.Put(ref, img, reg.Options.Remote(t.Context())...); err != nil {
		t.Fatal(err)
	}
	err := exportRegistry(t.Context(), root.Content, nil, Spec{Type: "registry", Ref: ref.String()}, reg.Options, nil, nil, t.Logf, nil)
	if err == nil || !strings.Contains(err.Error(), "already holds an image, not a gorae cache") {
		t.Errorf("export over an image = %v", err)
	}
}

func TestCacheImportWarnsAndGoesOn(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	var warns []string
	rc := Import(t.Context(), []Spec{
		{Type: "registry", Ref: reg.Host + "/nothing/here:1"},
		{Type: "local", Dir: filepath.Join(t.TempDir(), "absent")},
	}, reg.Options, testutil.CollectWarnings(&warns))
	if len(rc.records) != 0 || len(warns) != 2 {
		t.Fatalf("records %d, warnings %q", len(rc.records), warns)
	}
	if !strings.HasPrefix(warns[0], "cache import from "+reg.Host+"/nothing/here:1 skipped: ") {
		t.Errorf("warning %q", warns[0])
	}
}

func TestLocalCacheRoundTrip(t *testing.T) {
	root := newTestRoot(t)
	a, b := testutil.PutLayer(t, root.Content, "layer a"), testutil.PutLayer(t, root.Content, "layer b")
	dir := filepath.Join(t.TempDir(), "cache")
	var warns []string
	if err := exportLocal(root.Content, nil, dir, map[string]*ops.State{"k1": testutil.Record(a)}, nil, testutil.CollectWarnings(&warns), nil); err != nil {
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
	if err := exportLocal(root.Content, nil, dir, map[string]*ops.State{"k2": testutil.Record(a, b)}, nil, testutil.CollectWarnings(&warns), nil); err != nil {
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
	fresh := newTestRoot(t)
	rc := Import(t.Context(), []Spec{{Type: "local", Dir: dir}}, registry.Options{}, testutil.CollectWarnings(&warns))
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
	rc = Import(t.Context(), []Spec{{Type: "local", Dir: dir}}, registry.Options{}, testutil.CollectWarnings(&warns))
	if len(rc.records) != 0 || len(warns) != 1 || !strings.Contains(warns[0], "corrupt") {
		t.Errorf("corrupt config: %d records, warnings %q", len(rc.records), warns)
	}
}

func TestLocalCacheExportFailureKeepsOldIndex(t *testing.T) {
	root := newTestRoot(t)
	a := testutil.PutLayer(t, root.Content, "layer a")
	dir := filepath.Join(t.TempDir(), "cache")
	if err := exportLocal(root.Content, nil, dir, map[string]*ops.State{"k1": testutil.Record(a)}, nil, t.Logf, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	// k2's blob is offered by a --cache-from source that fails to deliver
	// it (a lost connection, a full disk): the export must fail whole.
	gone := testutil.PutLayer(t, root.Content, "gone soon")
	root.Content.Remove(gone.Digest)
	rc := &Cache{blobs: map[v1.Hash]blobSource{gone.Digest: {dir: t.TempDir()}}}
	root.Content.SetFetcher(rc.fetch)
	err := exportLocal(root.Content, rc, dir, map[string]*ops.State{"k2": testutil.Record(a, gone)}, nil, t.Logf, nil)
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
	root := newTestRoot(t)
	a := testutil.PutLayer(t, root.Content, "layer a")
	img, err := images.FromLayers(root.Content, &imageconfig.File{OS: "linux", Architecture: "amd64"}, testutil.Record(a).Layers, false)
	if err != nil {
		t.Fatal(err)
	}
	withRecs, err := WithInline(img, map[string]*ops.State{"k": testutil.Record(a)})
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
	reg := testutil.NewMemRegistry(t)
	src := newTestRoot(t)
	a := testutil.PutLayer(t, src.Content, "layer a")
	from := reg.Host + "/cache/one:1"
	if err := exportRegistry(t.Context(), src.Content, nil, Spec{Type: "registry", Ref: from}, reg.Options,
		map[string]*ops.State{"k": testutil.Record(a)}, nil, t.Logf, nil); err != nil {
		t.Fatal(err)
	}
	rc := Import(t.Context(), []Spec{{Type: "registry", Ref: from}}, reg.Options, t.Logf)
	repo := func(s string) name.Repository {
		r, err := reg.Options.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return r.Context()
	}
	if ref, ok := mountSource(rc, a.Digest, repo(reg.Host+"/cache/two:1")); !ok || ref.Context().RepositoryStr() != "cache/one" {
		t.Errorf("mount source for another repository = %v, %v; want cache/one", ref, ok)
	}
	for _, dst := range []string{from, "other.example/cache/one:1"} {
		if ref, ok := mountSource(rc, a.Digest, repo(dst)); ok {
			t.Errorf("mount source for %s = %v; want none", dst, ref)
		}
	}
	root := newTestRoot(t)
	img, err := images.FromLayers(root.Content, &imageconfig.File{OS: "linux", Architecture: "amd64"}, testutil.Record(a).Layers, false)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := rc.Mountable(img).Layers()
	if err != nil {
		t.Fatal(err)
	}
	if ml, ok := ls[0].(*remote.MountableLayer); !ok || ml.Reference.Context().RepositoryStr() != "cache/one" {
		t.Errorf("final image layer %T is not mountable from the cache", ls[0])
	}
}

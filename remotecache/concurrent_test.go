package remotecache

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/registry"
)

// writerSet is the records of one of several concurrent exports: each
// has its own content store (another machine), records of its own and a
// record under the key "shared" that all of them built, each with other
// bytes.
type writerSet struct {
	root *testRoot
	recs map[string]*ops.State
}

func newWriterSets(t *testing.T, n int) []writerSet {
	sets := make([]writerSet, n)
	for i := range sets {
		root := newTestRoot(t)
		base := testutil.PutLayer(t, root.Content, "base")
		recs := map[string]*ops.State{"shared": testutil.Record(base, testutil.PutLayer(t, root.Content, fmt.Sprint("shared by ", i)))}
		for j := range 3 {
			recs[fmt.Sprintf("w%d-k%d", i, j)] = testutil.Record(base, testutil.PutLayer(t, root.Content, fmt.Sprintf("writer %d layer %d", i, j)))
		}
		sets[i] = writerSet{root: root, recs: recs}
	}
	return sets
}

// runAtOnce runs export for every set in its own goroutine, all released
// together, and returns their errors.
func runAtOnce(sets []writerSet, export func(i int, w writerSet) error) []error {
	errs := make([]error, len(sets))
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i, w := range sets {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = export(i, w)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// wantAllRecords imports spec and checks that it holds every record of
// every set, each usable (its blobs carried).
func wantAllRecords(t *testing.T, spec Spec, ro registry.Options, sets []writerSet) {
	t.Helper()
	var warns []string
	rc := Import(t.Context(), []Spec{spec}, ro, testutil.CollectWarnings(&warns))
	want := 0
	for i, w := range sets {
		for k := range w.recs {
			if _, ok := rc.load(k); !ok {
				t.Errorf("record %s of export %d is missing from %s", k, i, spec)
			}
		}
		want += len(w.recs) - 1
	}
	if want++; rc.Len() != want {
		t.Errorf("%s holds %d records, want %d", spec, rc.Len(), want)
	}
	if len(warns) != 0 {
		t.Errorf("import warnings: %q", warns)
	}
}

// TestRegistryConcurrentExportsKeepAll: eight exports of different
// records to one ref at once all keep their records.
func TestRegistryConcurrentExportsKeepAll(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	sets := newWriterSets(t, 8)
	spec := Spec{Type: "registry", Ref: reg.Host + "/cache/shared:main", Mode: "max"}
	rounds := make([]int, len(sets))
	errs := runAtOnce(sets, func(i int, w writerSet) error {
		m := newExportMeter(nil)
		err := exportRegistry(t.Context(), w.root.Content, nil, spec, reg.Options, w.recs, nil, t.Errorf, m)
		rounds[i] = m.rounds
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("export %d: %v", i, err)
		}
	}
	wantAllRecords(t, spec, reg.Options, sets)
	total := 0
	for _, r := range rounds {
		total += r
	}
	t.Logf("rounds per export: %v (%d puts of the tag for 8 exports); manifest PUTs: %d", rounds, total, len(reg.ManifestPuts()))
}

// TestLocalConcurrentExportsKeepAll: eight exports of different records
// to one directory at once all keep their records.
func TestLocalConcurrentExportsKeepAll(t *testing.T) {
	sets := newWriterSets(t, 8)
	spec := Spec{Type: "local", Dir: filepath.Join(t.TempDir(), "cache"), Mode: "max"}
	errs := runAtOnce(sets, func(i int, w writerSet) error {
		return exportLocal(w.root.Content, nil, spec.Dir, w.recs, nil, t.Errorf, nil)
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("export %d: %v", i, err)
		}
	}
	wantAllRecords(t, spec, registry.Options{}, sets)
	idx, err := readIndex(spec.Dir)
	if err != nil || len(idx.Manifests) != 1 {
		t.Errorf("index.json = %+v, %v; want one cache entry", idx, err)
	}
}

// replacingRegistry is an in-process registry that, on a PUT of the
// manifest tag, at once puts another manifest (rival) under the tag: a
// concurrent export whose put lands right after this one's. It does so
// for the first `times` PUTs of the tag.
type replacingRegistry struct {
	Host    string
	Options registry.Options

	mu    sync.Mutex
	tag   string // "/v2/REPO/manifests/TAG"
	rival []byte
	times int
}

func newReplacingRegistry(t *testing.T) *replacingRegistry {
	r := &replacingRegistry{Options: registry.Options{Keychain: authn.NewMultiKeychain()}}
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.ServeHTTP(w, req)
		r.mu.Lock()
		defer r.mu.Unlock()
		if req.Method != http.MethodPut || req.URL.Path != r.tag || r.times == 0 {
			return
		}
		r.times--
		put := httptest.NewRequest(http.MethodPut, r.tag, bytes.NewReader(r.rival))
		put.Header.Set("Content-Type", req.Header.Get("Content-Type"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, put)
		if rec.Code != http.StatusCreated {
			t.Errorf("replacing %s: %d %s", r.tag, rec.Code, rec.Body)
		}
	}))
	t.Cleanup(srv.Close)
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// replaceWith arms the registry: the next times PUTs of repo:tag are
// replaced by the manifest now at repo:from.
func (r *replacingRegistry) replaceWith(t *testing.T, repo, tag, from string, times int) {
	ref, err := r.Options.Parse(r.Host + "/" + repo + ":" + from)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref, r.Options.Remote(t.Context())...)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tag, r.rival, r.times = "/v2/"+repo+"/manifests/"+tag, desc.Manifest, times
}

// TestRegistryExportMergesAfterReplacement: another export's manifest
// replaces this export's right after its put (the other export read the
// ref before); the check finds this export's records missing and merges
// again, so the ref ends with both sets.
func TestRegistryExportMergesAfterReplacement(t *testing.T) {
	reg := newReplacingRegistry(t)
	sets := newWriterSets(t, 2)
	other := Spec{Type: "registry", Ref: reg.Host + "/cache/race:other"}
	if err := exportRegistry(t.Context(), sets[1].root.Content, nil, other, reg.Options, sets[1].recs, nil, t.Errorf, nil); err != nil {
		t.Fatal(err)
	}
	reg.replaceWith(t, "cache/race", "main", "other", 1)
	spec := Spec{Type: "registry", Ref: reg.Host + "/cache/race:main"}
	m := newExportMeter(nil)
	if err := exportRegistry(t.Context(), sets[0].root.Content, nil, spec, reg.Options, sets[0].recs, nil, t.Errorf, m); err != nil {
		t.Fatal(err)
	}
	if m.rounds != 2 {
		t.Errorf("export took %d rounds, want 2 (put, replaced, merged and put again)", m.rounds)
	}
	if s := m.summary("uploaded"); !strings.HasSuffix(s, "; merged with concurrent exports in 2 rounds") {
		t.Errorf("summary %q does not tell of the merge", s)
	}
	wantAllRecords(t, spec, reg.Options, sets)
}

// TestRegistryExportGivesUpOnConstantReplacer: a ref that another writer
// replaces after every put fails the export after mergeRounds rounds,
// with an error that says so and what to do.
func TestRegistryExportGivesUpOnConstantReplacer(t *testing.T) {
	old := mergeRounds
	mergeRounds = 3
	t.Cleanup(func() { mergeRounds = old })
	reg := newReplacingRegistry(t)
	sets := newWriterSets(t, 2)
	other := Spec{Type: "registry", Ref: reg.Host + "/cache/race:other"}
	if err := exportRegistry(t.Context(), sets[1].root.Content, nil, other, reg.Options, sets[1].recs, nil, t.Errorf, nil); err != nil {
		t.Fatal(err)
	}
	reg.replaceWith(t, "cache/race", "main", "other", 1000)
	spec := Spec{Type: "registry", Ref: reg.Host + "/cache/race:main"}
	m := newExportMeter(nil)
	err := exportRegistry(t.Context(), sets[0].root.Content, nil, spec, reg.Options, sets[0].recs, nil, t.Errorf, m)
	want := "another writer keeps replacing " + spec.Ref + ": after 3 rounds"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "their own cache refs") {
		t.Errorf("export against a constant replacer = %v; want an error containing %q", err, want)
	}
	if m.rounds != 3 {
		t.Errorf("export took %d rounds, want 3", m.rounds)
	}
}

// TestRegistryExportReplacesCorruptCache: a cache whose config does not
// parse is replaced by the export's records, with one warning although
// the export reads the ref several times.
func TestRegistryExportReplacesCorruptCache(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	ref, _ := reg.Options.Parse(reg.Host + "/cache/corrupt:1")
	img := &rawImage{mediaType: types.OCIManifestSchema1, config: []byte("{garbage")}
	d, _, _ := v1.SHA256(bytes.NewReader(img.config))
	img.manifest = fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[]}`,
		types.OCIManifestSchema1, cacheConfigType, d, len(img.config))
	if err := remote.Put(ref, img, reg.Options.Remote(t.Context())...); err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteLayer(ref.Context(), static.NewLayer(img.config, cacheConfigType), reg.Options.Remote(t.Context())...); err != nil {
		t.Fatal(err)
	}
	sets := newWriterSets(t, 1)
	spec := Spec{Type: "registry", Ref: ref.String()}
	var warns []string
	if err := exportRegistry(t.Context(), sets[0].root.Content, nil, spec, reg.Options, sets[0].recs, nil, testutil.CollectWarnings(&warns), nil); err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.HasPrefix(warns[0], "the cache at "+spec.Ref+" is unreadable and will be replaced: ") {
		t.Errorf("warnings %q, want one saying the cache is replaced", warns)
	}
	wantAllRecords(t, spec, reg.Options, sets)
}

package exporter

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/registry"
)

// openCounting counts how often its layers' bytes are read: a lazy
// layer's Compressed is what downloads it.
type openCounting struct {
	v1.Image
	opens *atomic.Int32
}

type countedLayer struct {
	v1.Layer
	opens *atomic.Int32
}

func (l countedLayer) Compressed() (io.ReadCloser, error) {
	l.opens.Add(1)
	return l.Layer.Compressed()
}

func (m openCounting) Layers() ([]v1.Layer, error) {
	ls, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = countedLayer{l, m.opens}
	}
	return out, nil
}

// mountRegistry is an in-process registry that, like a real one, keeps
// each repository's blobs apart: a HEAD in any repository but "cache"
// misses until that repository got the blob (by mount or upload). With
// mounts on it answers mount requests from "cache" itself.
type mountRegistry struct {
	mu      sync.Mutex
	mounts  int
	froms   []string
	has     map[string]bool // repo + "@" + digest
	refuse  bool
	handler http.Handler
}

func (m *mountRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	repo, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/blobs/")
	m.mu.Lock()
	defer m.mu.Unlock()
	if ok && repo != "cache" {
		switch {
		case r.Method == http.MethodHead && !m.has[repo+"@"+rest]:
			w.WriteHeader(http.StatusNotFound)
			return
		case r.Method == http.MethodPost && r.URL.Query().Get("from") != "":
			m.froms = append(m.froms, r.URL.Query().Get("from"))
			if !m.refuse {
				d := r.URL.Query().Get("mount")
				m.mounts++
				m.has[repo+"@"+d] = true
				w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d)
				w.WriteHeader(http.StatusCreated)
				return
			}
		case r.Method == http.MethodPut && r.URL.Query().Get("digest") != "":
			m.has[repo+"@"+r.URL.Query().Get("digest")] = true
		}
	}
	m.handler.ServeHTTP(w, r)
}

func TestRegistryPushLazyLayers(t *testing.T) {
	mr := &mountRegistry{has: map[string]bool{}, handler: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(mr)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	opts := registry.Options{Keychain: authn.NewMultiKeychain()}

	base := randomImage(t)
	if err := (Registry{Options: opts}).Export(t.Context(), base, []string{host + "/cache:c"}); err != nil {
		t.Fatal(err)
	}
	ls, _ := base.Layers()
	cache, _ := name.NewRepository(host+"/cache", name.Insecure)
	var opens atomic.Int32
	img := openCounting{base, &opens}
	lazyIn := func(repo name.Repository) func(v1.Hash) (name.Repository, bool) {
		return func(v1.Hash) (name.Repository, bool) { return repo, true }
	}
	check := func(ref string) {
		t.Helper()
		r, _ := name.ParseReference(ref, name.Insecure)
		got, err := remote.Image(r)
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		if digestOf(t, got) != digestOf(t, base) {
			t.Errorf("%s has another digest", ref)
		}
	}
	reset := func() (mounts int, froms []string, n int32) {
		mr.mu.Lock()
		defer mr.mu.Unlock()
		mounts, froms = mr.mounts, mr.froms
		mr.mounts, mr.froms = 0, nil
		return mounts, froms, opens.Swap(0)
	}

	// Same registry: every lazy layer is mounted from the cache, none read.
	r := Registry{Options: opts, Lazy: lazyIn(cache)}
	if err := r.Export(t.Context(), img, []string{host + "/app:1"}); err != nil {
		t.Fatal(err)
	}
	if mounts, froms, n := reset(); mounts != len(ls) || n != 0 || froms[0] != "cache" {
		t.Errorf("same registry: %d mounts from %v, %d layers read; want %d mounts from cache, none read", mounts, froms, n, len(ls))
	}
	check(host + "/app:1")

	// The destination has every blob: nothing is read, nothing mounted.
	if err := r.Export(t.Context(), img, []string{host + "/app:2"}); err != nil {
		t.Fatal(err)
	}
	if mounts, froms, n := reset(); mounts != 0 || len(froms) != 0 || n != 0 {
		t.Errorf("blobs present: %d mounts, %d mount requests, %d layers read; want none", mounts, len(froms), n)
	}

	// The registry refuses the mount: the layers are read and uploaded.
	mr.mu.Lock()
	mr.refuse = true
	mr.mu.Unlock()
	if err := r.Export(t.Context(), img, []string{host + "/refused:1"}); err != nil {
		t.Fatal(err)
	}
	if _, froms, n := reset(); len(froms) != len(ls) || int(n) != len(ls) {
		t.Errorf("mount refused: %d mount requests, %d layers read; want %d of each", len(froms), n, len(ls))
	}
	check(host + "/refused:1")
	mr.mu.Lock()
	mr.refuse = false
	mr.mu.Unlock()

	// A cache on another registry: no mount is asked for (there are no
	// cross-registry mounts); the layers are read and uploaded.
	other, _ := name.NewRepository("other.invalid:5000/cache")
	r.Lazy = lazyIn(other)
	if err := r.Export(t.Context(), img, []string{host + "/elsewhere:1"}); err != nil {
		t.Fatal(err)
	}
	if _, froms, n := reset(); len(froms) != 0 || int(n) != len(ls) {
		t.Errorf("other registry: mount requests from %v, %d layers read; want none and %d", froms, n, len(ls))
	}
	check(host + "/elsewhere:1")
}

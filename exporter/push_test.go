package exporter

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/registry"
)

// counter counts blob uploads (POST/PATCH/PUT under /blobs/uploads/) and
// manifest PUTs reaching an in-process registry.
type counter struct {
	mu        sync.Mutex
	uploads   int
	manifests int
}

func (c *counter) reset() (uploads, manifests int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, m := c.uploads, c.manifests
	c.uploads, c.manifests = 0, 0
	return u, m
}

func testRegistry(t *testing.T) (host string, c *counter) {
	c = &counter{}
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		switch {
		case strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method != http.MethodHead && r.Method != http.MethodGet:
			c.uploads++
		case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodPut:
			c.manifests++
		}
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), c
}

func TestRegistryPush(t *testing.T) {
	host, c := testRegistry(t)
	img := randomImage(t)
	want := digestOf(t, img)
	opts := registry.Options{Keychain: authn.NewMultiKeychain()}
	var mu sync.Mutex
	var events []PushEvent
	r := Registry{Options: opts, Progress: func(e PushEvent) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}}

	// Two tags of one repository in one export: blobs go up once.
	if err := r.Export(t.Context(), img, []string{host + "/app:a", host + "/app:b"}); err != nil {
		t.Fatal(err)
	}
	up, man := c.reset()
	if up == 0 || man != 2 {
		t.Errorf("first push: %d upload requests, %d manifest PUTs; want some and 2", up, man)
	}
	for _, tag := range []string{"a", "b"} {
		ref, err := name.ParseReference(host+"/app:"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(ref)
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		if d := digestOf(t, got); d != want {
			t.Errorf("%s digest %s, want %s", ref, d, want)
		}
	}
	mu.Lock()
	last := events[len(events)-1]
	var pushed bool
	for _, e := range events {
		pushed = pushed || (e.Status == "pushed" && e.Name == host+"/app:a" && e.Digest == want && e.Done == e.Size && e.Size > 0)
	}
	mu.Unlock()
	if !pushed || last.Status != "tagged" || last.Name != host+"/app:b" {
		t.Errorf("events end %+v; want a pushed event for :a and a final tagged event for :b", last)
	}

	// A later push to another tag finds every blob in place.
	if err := r.Export(t.Context(), img, []string{host + "/app:c"}); err != nil {
		t.Fatal(err)
	}
	if up, man := c.reset(); up != 0 || man != 1 {
		t.Errorf("second push: %d upload requests, %d manifest PUTs; want 0 and 1", up, man)
	}
}

func TestRegistryPushErrors(t *testing.T) {
	img := randomImage(t)
	r := Registry{Options: registry.Options{Keychain: authn.NewMultiKeychain()}}
	if err := r.Export(t.Context(), img, nil); err == nil || !strings.Contains(err.Error(), "-t") {
		t.Errorf("no names: %v", err)
	}
	if err := r.Export(t.Context(), img, []string{"Bad Name"}); err == nil || !strings.Contains(err.Error(), `invalid image name "Bad Name"`) {
		t.Errorf("bad name: %v", err)
	}
	// Nothing listens on port 1: the error names the registry.
	err := r.Export(t.Context(), img, []string{"127.0.0.1:1/app:x"})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.HasPrefix(err.Error(), "push 127.0.0.1:1/app:x: ") {
		t.Errorf("unreachable registry: %v", err)
	}
}

// TestRegistryPushMountsAcrossRepositories pushes to two repositories of
// one registry. The in-process registry shares blobs between
// repositories, so the wrapper hides them from repository b (as a real
// registry would) and answers mount requests itself: b must get its layers
// by mount, not by upload.
func TestRegistryPushMountsAcrossRepositories(t *testing.T) {
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var mu sync.Mutex
	var mounts, uploadsB int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inB := strings.HasPrefix(r.URL.Path, "/v2/b/blobs/")
		switch {
		case inB && r.Method == http.MethodHead:
			w.WriteHeader(http.StatusNotFound)
			return
		case inB && r.Method == http.MethodPost && r.URL.Query().Get("mount") != "":
			mu.Lock()
			defer mu.Unlock()
			if r.URL.Query().Get("from") != "a" {
				t.Errorf("mount from %q, want a", r.URL.Query().Get("from"))
			}
			mounts++
			w.Header().Set("Location", "/v2/b/blobs/"+r.URL.Query().Get("mount"))
			w.WriteHeader(http.StatusCreated)
			return
		case inB && r.Method == http.MethodPatch:
			mu.Lock()
			uploadsB++
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img := randomImage(t)
	r := Registry{Options: registry.Options{Keychain: authn.NewMultiKeychain()}}
	if err := r.Export(t.Context(), img, []string{host + "/a:1", host + "/b:1"}); err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	// The config blob is not a layer and is uploaded; every layer is mounted.
	if mounts != len(ls) || uploadsB != 1 {
		t.Errorf("repository b: %d mounts, %d uploads; want %d mounts and 1 upload (the config)", mounts, uploadsB, len(ls))
	}
	ref, _ := name.ParseReference(host+"/b:1", name.Insecure)
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, got) != digestOf(t, img) {
		t.Error("b:1 has another digest")
	}
}

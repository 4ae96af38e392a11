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
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/registry"
)

// manifestPut is one manifest PUT an in-process registry received.
type manifestPut struct{ repo, ref, mediaType string }

// puttingRegistry is an in-process registry that logs manifest PUTs in
// the order they arrive.
func puttingRegistry(t *testing.T) (host string, puts func() []manifestPut) {
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var mu sync.Mutex
	var seen []manifestPut
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if repo, ref, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/"); ok && r.Method == http.MethodPut {
			mu.Lock()
			seen = append(seen, manifestPut{repo, ref, r.Header.Get("Content-Type")})
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func() []manifestPut {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}
}

func TestRegistryPushIndex(t *testing.T) {
	for _, mt := range []types.MediaType{types.OCIImageIndex, types.DockerManifestList} {
		t.Run(string(mt), func(t *testing.T) {
			host, puts := puttingRegistry(t)
			idx, imgs := randomIndex(t, mt)
			want := indexDigest(t, idx)
			var mu sync.Mutex
			var events []PushEvent
			r := Registry{Options: registry.Options{Keychain: authn.NewMultiKeychain()}, Progress: func(e PushEvent) {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			}}
			if err := r.ExportIndex(t.Context(), idx, []string{host + "/app:1", host + "/app:2"}); err != nil {
				t.Fatal(err)
			}

			// Both platform manifests by digest, then the index by tag.
			got := puts()
			if len(got) != 4 {
				t.Fatalf("manifest PUTs %v, want 4", got)
			}
			children := map[string]bool{digestOf(t, imgs[0]).String(): true, digestOf(t, imgs[1]).String(): true}
			for i, p := range got[:2] {
				if !children[p.ref] || p.repo != "app" {
					t.Errorf("PUT %d is %s/%s, want a platform manifest by digest before the index", i, p.repo, p.ref)
				}
				delete(children, p.ref)
			}
			for i, tag := range []string{"1", "2"} {
				if p := got[2+i]; p.ref != tag || p.mediaType != string(mt) {
					t.Errorf("PUT %d is %s (%s), want the index as %s (%s)", 2+i, p.ref, p.mediaType, tag, mt)
				}
			}

			ref, _ := name.ParseReference(host+"/app:1", name.Insecure)
			pulled, err := remote.Index(ref)
			if err != nil {
				t.Fatal(err)
			}
			if d := indexDigest(t, pulled); d != want {
				t.Errorf("pushed index %s, want %s", d, want)
			}
			im, err := pulled.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range []v1.Platform{amd64, arm64} {
				d := im.Manifests[i]
				if d.Platform == nil || d.Platform.String() != p.String() || d.Digest != digestOf(t, imgs[i]) {
					t.Errorf("manifest %d = %s on %v, want %s on %s", i, d.Digest, d.Platform, digestOf(t, imgs[i]), p.String())
				}
				img, err := pulled.Image(d.Digest)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := img.ConfigFile(); err != nil {
					t.Errorf("manifest %d config: %v", i, err)
				}
			}

			mu.Lock()
			defer mu.Unlock()
			var pushed bool
			for _, e := range events {
				pushed = pushed || (e.Status == "pushed" && e.Name == host+"/app:1" && e.Digest == want && e.Size > 0 && e.Done == e.Size)
			}
			if last := events[len(events)-1]; !pushed || last.Status != "tagged" || last.Name != host+"/app:2" || last.Digest != want {
				t.Errorf("events end %+v; want a pushed event for :1 and a final tagged event for :2, both of the index", last)
			}
		})
	}
}

// The lazy layers of every platform are mounted from their cache
// repository, never read, and a second repository mounts from the first.
func TestRegistryPushIndexLazyLayers(t *testing.T) {
	mr := &mountRegistry{has: map[string]bool{}, handler: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(mr)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	opts := registry.Options{Keychain: authn.NewMultiKeychain()}

	_, bases := randomIndex(t, types.OCIImageIndex)
	layers := map[v1.Hash]bool{}
	var opens atomic.Int32
	var imgs []v1.Image
	for _, b := range bases {
		if err := (Registry{Options: opts}).Export(t.Context(), b, []string{host + "/cache:c"}); err != nil {
			t.Fatal(err)
		}
		ls, _ := b.Layers()
		for _, l := range ls {
			d, _ := l.Digest()
			layers[d] = true
		}
		imgs = append(imgs, openCounting{b, &opens})
	}
	idx := indexOf(t, types.OCIImageIndex, imgs...)
	cache, _ := name.NewRepository(host+"/cache", name.Insecure)
	r := Registry{Options: opts, Lazy: func(v1.Hash) (name.Repository, bool) { return cache, true }}
	if err := r.ExportIndex(t.Context(), idx, []string{host + "/app:1"}); err != nil {
		t.Fatal(err)
	}
	mr.mu.Lock()
	mounts, froms := mr.mounts, mr.froms
	mr.mounts, mr.froms = 0, nil
	mr.mu.Unlock()
	if n := opens.Load(); mounts != len(layers) || n != 0 || froms[0] != "cache" {
		t.Errorf("%d mounts from %v, %d layers read; want %d mounts from cache, none read", mounts, froms, n, len(layers))
	}

	// A second repository of the same registry mounts from the first.
	r.Lazy = nil
	if err := r.ExportIndex(t.Context(), idx, []string{host + "/app:2", host + "/other:1"}); err != nil {
		t.Fatal(err)
	}
	mr.mu.Lock()
	mounts, froms = mr.mounts, mr.froms
	mr.mu.Unlock()
	if n := opens.Load(); mounts != len(layers) || n != 0 || froms[0] != "app" {
		t.Errorf("second repository: %d mounts from %v, %d layers read; want %d mounts from app, none read", mounts, froms, n, len(layers))
	}
	ref, _ := name.ParseReference(host+"/other:1", name.Insecure)
	if got, err := remote.Index(ref); err != nil || indexDigest(t, got) != indexDigest(t, idx) {
		t.Errorf("other:1: %v", err)
	}
}

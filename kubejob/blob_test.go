package kubejob

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/registry"
)

// countingRegistry counts blob HEADs and upload PUTs.
type countingRegistry struct {
	host string
	mu   sync.Mutex
	head int
	put  int
}

func newCountingRegistry(t *testing.T) *countingRegistry {
	c := &countingRegistry{}
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		switch {
		case r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/blobs/"):
			c.head++
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/"):
			c.put++
		}
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.host = strings.TrimPrefix(srv.URL, "http://")
	return c
}

func (c *countingRegistry) counts() (head, put int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, p := c.head, c.put
	c.head, c.put = 0, 0
	return h, p
}

// TestUploadOnce: a context blob is uploaded once; the second time one
// HEAD finds it. The URL the Job gets names it.
func TestUploadOnce(t *testing.T) {
	reg := newCountingRegistry(t)
	o := registry.Options{Keychain: authn.NewMultiKeychain()}
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "f": "x"})
	ref, err := o.Parse(reg.host + "/team/app:x")
	if err != nil {
		t.Fatal(err)
	}
	repo := ref.Context()
	for i, want := range [][2]int{{1, 1}, {1, 0}} {
		b, err := mainContext(dir, "", "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := uploadBlob(context.Background(), o, repo, b); err != nil {
			t.Fatal(err)
		}
		if h, p := reg.counts(); h != want[0] || p != want[1] {
			t.Errorf("upload %d: %d HEAD, %d PUT; want %d, %d", i+1, h, p, want[0], want[1])
		}
		url := blobURL(repo, b.digest)
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(url, "http://"+reg.host+"/v2/team/app/blobs/sha256:") {
			t.Errorf("%s: %s", url, resp.Status)
		}
	}
}

package testutil

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/registry"
)

// MemRegistry is an in-process registry (ggcr's) that counts requests,
// blob uploads and mounts and blob GETs, and can serve tampered bytes
// for chosen blobs.
type MemRegistry struct {
	Host    string           // host:port, spoken to over plain HTTP
	Options registry.Options // no credentials from the environment

	mu       sync.Mutex
	requests int // every request
	uploads  int // blob upload sessions that were not mounts
	mounts   int
	gets     map[string]int // blob digest → GETs
	tampered map[string]bool
	puts     []string // manifest PUTs, "repo:reference", in order
}

// MemOption configures a MemRegistry.
type MemOption func(*[]ggcrregistry.Option)

// WithReferrers makes the registry answer the OCI 1.1 referrers API
// (GET /v2/REPO/referrers/DIGEST); without it a client falls back to
// the sha256-HEX tag.
func WithReferrers() MemOption {
	return func(o *[]ggcrregistry.Option) { *o = append(*o, ggcrregistry.WithReferrersSupport(true)) }
}

// NewMemRegistry starts a MemRegistry that stops when the test ends.
func NewMemRegistry(t testing.TB, opts ...MemOption) *MemRegistry {
	r := &MemRegistry{gets: map[string]int{}, tampered: map[string]bool{}}
	ro := []ggcrregistry.Option{ggcrregistry.Logger(log.New(io.Discard, "", 0))}
	for _, o := range opts {
		o(&ro)
	}
	h := ggcrregistry.New(ro...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests++
		p := req.URL.Path
		switch {
		case strings.Contains(p, "/manifests/") && req.Method == http.MethodPut:
			repo, ref, _ := strings.Cut(strings.TrimPrefix(p, "/v2/"), "/manifests/")
			r.puts = append(r.puts, repo+":"+ref)
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
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	r.Options = registry.Options{Keychain: authn.NewMultiKeychain()}
	return r
}

// Counts returns the blob uploads and mounts since the last call.
func (r *MemRegistry) Counts() (uploads, mounts int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u, m := r.uploads, r.mounts
	r.uploads, r.mounts = 0, 0
	return u, m
}

// Requests returns how many requests the registry served since the last
// call.
func (r *MemRegistry) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.requests
	r.requests = 0
	return n
}

// ManifestPuts returns every manifest PUT so far, in order, as
// "REPO:REFERENCE" (a tag or a digest).
func (r *MemRegistry) ManifestPuts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.puts...)
}

// GetsOf is how many times blob d was downloaded.
func (r *MemRegistry) GetsOf(d v1.Hash) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gets[d.String()]
}

// Tamper makes the registry serve other bytes for blob d.
func (r *MemRegistry) Tamper(d v1.Hash) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tampered[d.String()] = true
}

// CollectWarnings returns a printf-style warning function that appends
// to warns, safe for concurrent use.
func CollectWarnings(warns *[]string) func(string, ...any) {
	var mu sync.Mutex
	return func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		*warns = append(*warns, fmt.Sprintf(f, a...))
	}
}

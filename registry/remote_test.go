package registry

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// keychain hands out fixed credentials and records that it was asked.
type keychain struct {
	auth  authn.Authenticator
	asked []string
}

func (k *keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	k.asked = append(k.asked, r.RegistryStr())
	return k.auth, nil
}

// server starts an in-process registry on 127.0.0.1 that demands basic
// auth user:pass when auth is set, and records the User-Agent it sees.
func server(t *testing.T, auth bool) (host string, agents func() []string) {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var (
		mu   sync.Mutex
		seen []string
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.UserAgent())
		mu.Unlock()
		if u, p, ok := r.BasicAuth(); auth && (!ok || u != "user" || p != "pass") {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	})
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://"), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func TestPushPullRoundTrip(t *testing.T) {
	host, agents := server(t, true)
	kc := &keychain{auth: &authn.Basic{Username: "user", Password: "pass"}}
	o := Options{Keychain: kc, Jobs: 2}
	ref, err := o.Parse(host + "/test/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, o.Remote(t.Context())...); err != nil {
		t.Fatalf("push: %v", Explain(err, ref.String()))
	}
	got, err := remote.Image(ref, o.Remote(t.Context())...)
	if err != nil {
		t.Fatalf("pull: %v", Explain(err, ref.String()))
	}
	want, _ := img.Digest()
	if d, err := got.Digest(); err != nil || d != want {
		t.Fatalf("pulled digest %v (%v), want %v", d, err, want)
	}
	layers, err := got.Layers()
	if err != nil || len(layers) != 3 {
		t.Fatalf("pulled %d layers (%v), want 3", len(layers), err)
	}
	if len(kc.asked) == 0 || kc.asked[0] != host {
		t.Errorf("keychain asked for %v, want %s", kc.asked, host)
	}
	if len(agents()) == 0 {
		t.Error("the registry saw no requests")
	}
	for _, a := range agents() {
		if !strings.HasPrefix(a, UserAgent) {
			t.Errorf("User-Agent %q, want prefix %q", a, UserAgent)
			break
		}
	}
}

func TestUnauthorizedExplained(t *testing.T) {
	host, _ := server(t, true)
	o := Options{Keychain: &keychain{auth: authn.Anonymous}}
	ref, err := o.Parse(host + "/test/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Image(ref, o.Remote(t.Context())...)
	if err == nil {
		t.Fatal("pull without credentials succeeded")
	}
	err = Explain(err, ref.String())
	for _, want := range []string{"registry " + host, "401", "gorae login " + host, "~/.docker/config.json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
		t.Errorf("explained error lost the transport error: %#v", err)
	}
}

func TestNotFoundExplained(t *testing.T) {
	host, _ := server(t, false)
	o := Options{Keychain: &keychain{auth: authn.Anonymous}}
	ref, err := o.Parse(host + "/nope:v1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Image(ref, o.Remote(t.Context())...)
	err = Explain(err, ref.String())
	if err == nil || !strings.Contains(err.Error(), "image "+ref.String()+" not found in registry "+host) {
		t.Errorf("error %v, want not found", err)
	}
}

func TestConnectionRefusedExplained(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	o := Options{Keychain: &keychain{auth: authn.Anonymous}}
	ref, err := o.Parse(host + "/app")
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Image(ref, o.Remote(t.Context())...)
	err = Explain(err, ref.String())
	if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("error %v, want connection refused", err)
	}
	for _, want := range []string{"is the registry running?", "--insecure-registry " + host} {
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestGuardRefusesPlainHTTPToPrivateHosts(t *testing.T) {
	called := false
	next := roundTripFunc(func(*http.Request) (*http.Response, error) {
		called = true
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	})
	g := &tlsGuard{next: next, o: Options{Insecure: []string{"10.0.0.9"}}}
	req := httptest.NewRequest(http.MethodGet, "http://192.168.1.10:5000/v2/", nil)
	if _, err := g.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "--insecure-registry 192.168.1.10:5000") {
		t.Errorf("plain HTTP to a private host: %v, want refusal", err)
	}
	if called {
		t.Error("refused request reached the transport")
	}
	for _, u := range []string{"http://10.0.0.9:5000/v2/", "https://192.168.1.10/v2/", "http://127.0.0.1:5000/v2/"} {
		called = false
		if _, err := g.RoundTrip(httptest.NewRequest(http.MethodGet, u, nil)); err != nil || !called {
			t.Errorf("%s: %v, want it passed on", u, err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestExplainPassesOthersThrough(t *testing.T) {
	if Explain(nil, "x") != nil {
		t.Error("Explain(nil) != nil")
	}
	e := errors.New("something else")
	if got := Explain(e, "busybox"); got != e {
		t.Errorf("Explain changed an unknown error: %v", got)
	}
}

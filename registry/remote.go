package registry

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Options says how to reach registries. The zero value is usable: Docker
// credentials, ggcr's default transport, four concurrent uploads, TLS for
// every non-loopback host.
type Options struct {
	// Insecure lists registries ("host" or "host:port", as given to
	// --insecure-registry) spoken to over plain HTTP. A bare host covers
	// every port.
	Insecure []string
	// Keychain resolves credentials; nil means authn.DefaultKeychain
	// (~/.docker/config.json and its credential helpers).
	Keychain authn.Keychain
	// Transport carries the requests; nil means remote.DefaultTransport.
	// An *http.Transport (or nil) also gets the CAs and client
	// certificates of Docker's certs.d directories (see CertsDirs).
	Transport http.RoundTripper
	// Jobs is the number of concurrent blob uploads; 0 means 4.
	Jobs int
}

// UserAgent is sent with every registry request.
const UserAgent = "gorae"

// retryStatus are the HTTP statuses worth retrying: timeouts, rate limits
// and server-side failures a registry recovers from.
var retryStatus = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// backoff retries four times within about 7 s: long enough to ride out a
// registry restart, short enough that a dead registry fails a CI job fast.
var backoff = remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 4}

// Remote returns the remote options for one operation under ctx. extra
// options come last and so override the defaults; pass no
// remote.WithAuth, since credentials already come from the keychain.
func (o Options) Remote(ctx context.Context, extra ...remote.Option) []remote.Option {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = 4
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(o.transport()),
		remote.WithRetryBackoff(backoff),
		remote.WithRetryStatusCodes(retryStatus...),
		remote.WithJobs(jobs),
		remote.WithUserAgent(UserAgent),
	}
	return append(opts, extra...)
}

// transport is the one place registry transports are made: certs.d
// TLS files over the given (or default) transport, under tlsGuard.
func (o Options) transport() http.RoundTripper {
	t := o.Transport
	if t == nil {
		t = remote.DefaultTransport
	}
	if ht, ok := t.(*http.Transport); ok {
		t = newCertsTransport(ht, CertsDirs())
	}
	return &tlsGuard{next: t, o: o}
}

// tlsGuard refuses plain-HTTP requests to hosts that must use TLS. ggcr
// falls back to HTTP for private (RFC 1918) addresses when HTTPS fails,
// which would let anyone on the path downgrade a private registry.
type tlsGuard struct {
	next http.RoundTripper
	o    Options
}

func (g *tlsGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.o.plainHTTP(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("refusing plain HTTP to %s: only loopback registries and those given with --insecure-registry %s may be reached without TLS", req.URL.Host, req.URL.Host)
	}
	return g.next.RoundTrip(req)
}

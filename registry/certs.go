package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// CertsDirEnv overrides where gorae looks for per-registry TLS files: a
// list of directories separated by ":" used instead of the defaults
// (tests point it at a temporary directory).
const CertsDirEnv = "GORAE_CERTS_D"

// CertsDirs returns the certs.d directories gorae reads, in order: those
// in $GORAE_CERTS_D if set, else Docker's /etc/docker/certs.d and the
// rootless Docker daemon's $XDG_CONFIG_HOME/docker/certs.d
// (~/.config/docker/certs.d).
func CertsDirs() []string {
	if v := os.Getenv(CertsDirEnv); v != "" {
		return filepath.SplitList(v)
	}
	dirs := []string{"/etc/docker/certs.d"}
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cfg = filepath.Join(home, ".config")
		}
	}
	if cfg != "" {
		dirs = append(dirs, filepath.Join(cfg, "docker", "certs.d"))
	}
	return dirs
}

// hostTLS reads DIR/HOST/ from each of dirs the way Docker's daemon
// does: every *.crt is a CA added to the system roots, every *.cert with
// the *.key of the same name is a client certificate. It returns nil
// when no directory has files for host.
func hostTLS(dirs []string, host string) (*tls.Config, error) {
	var (
		cas   [][]byte
		certs []tls.Certificate
		found bool
	)
	for _, d := range dirs {
		hd := filepath.Join(d, host)
		ents, err := os.ReadDir(hd)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read TLS files of registry %s: %w", host, err)
		}
		names := make([]string, 0, len(ents))
		for _, e := range ents {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			p := filepath.Join(hd, n)
			switch {
			case strings.HasSuffix(n, ".crt"):
				b, err := os.ReadFile(p)
				if err != nil {
					return nil, fmt.Errorf("read CA certificate of registry %s: %w", host, err)
				}
				cas = append(cas, b)
				found = true
			case strings.HasSuffix(n, ".cert"):
				key := strings.TrimSuffix(p, ".cert") + ".key"
				c, err := tls.LoadX509KeyPair(p, key)
				if err != nil {
					return nil, fmt.Errorf("load client certificate %s with key %s for registry %s: %w", p, key, host, err)
				}
				certs = append(certs, c)
				found = true
			case strings.HasSuffix(n, ".key"):
				if _, err := os.Stat(strings.TrimSuffix(p, ".key") + ".cert"); err != nil {
					return nil, fmt.Errorf("missing client certificate %s.cert for key %s (registry %s): add it or remove the key",
						strings.TrimSuffix(n, ".key"), p, host)
				}
			}
		}
	}
	if !found {
		return nil, nil
	}
	tc := &tls.Config{Certificates: certs}
	if len(cas) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for i, b := range cas {
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("CA certificate %d of registry %s (a *.crt file in certs.d/%s) holds no PEM certificate", i+1, host, host)
			}
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// certsTransport sends each request through a transport that trusts the
// CAs and presents the client certificates of its host's certs.d
// directory, and through base for hosts without one. It reads the
// directory once per host.
type certsTransport struct {
	base *http.Transport
	dirs []string

	mu     sync.Mutex
	byHost map[string]http.RoundTripper
}

func newCertsTransport(base *http.Transport, dirs []string) *certsTransport {
	return &certsTransport{base: base, dirs: dirs, byHost: map[string]http.RoundTripper{}}
}

func (c *certsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return c.base.RoundTrip(req)
	}
	t, err := c.forHost(req.URL.Host)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.RoundTrip(req)
}

func (c *certsTransport) forHost(host string) (http.RoundTripper, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.byHost[host]; ok {
		return t, nil
	}
	tc, err := hostTLS(c.dirs, host)
	if err != nil {
		return nil, err
	}
	if tc == nil && !strings.Contains(host, ":") {
		// Docker names the directory as the image names the registry;
		// "host:443" is the same registry as "host".
		tc, err = hostTLS(c.dirs, host+":443")
		if err != nil {
			return nil, err
		}
	}
	var t http.RoundTripper = c.base
	if tc != nil {
		ht := c.base.Clone()
		if ht.TLSClientConfig != nil {
			tc.MinVersion = ht.TLSClientConfig.MinVersion
		}
		ht.TLSClientConfig = tc
		t = ht
	}
	c.byHost[host] = t
	return t, nil
}

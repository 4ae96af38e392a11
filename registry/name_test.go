package registry

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	const dig = "sha256:0123456789012345678901234567890123456789012345678901234567890123"
	for _, tc := range []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"library/busybox", "docker.io/library/busybox:latest"},
		{"docker.io/busybox", "docker.io/library/busybox:latest"},
		{"index.docker.io/library/busybox:1", "docker.io/library/busybox:1"},
		{"user/app", "docker.io/user/app:latest"},
		{"ghcr.io/org/app:v1", "ghcr.io/org/app:v1"},
		{"localhost/app", "localhost/app:latest"},
		{"localhost:5000/a/b/c", "localhost:5000/a/b/c:latest"},
		{"127.0.0.1:5000/app:dev", "127.0.0.1:5000/app:dev"},
		{"busybox@" + dig, "docker.io/library/busybox@" + dig},
		{"busybox:1.36@" + dig, "docker.io/library/busybox:1.36@" + dig},
		{"127.0.0.1:5000/app@" + dig, "127.0.0.1:5000/app@" + dig},
	} {
		got, err := Normalize(tc.in)
		if err != nil {
			t.Errorf("Normalize(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeInvalid(t *testing.T) {
	for _, in := range []string{"", "Busybox", "busybox:", "busybox@sha256:abc", "a b", "http://x/y", "busybox:bad tag"} {
		_, err := Normalize(in)
		if err == nil {
			t.Errorf("Normalize(%q) succeeded", in)
			continue
		}
		if want := "invalid image name"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Normalize(%q) error %q, want prefix %q", in, err, want)
		}
	}
}

func TestParseScheme(t *testing.T) {
	o := Options{Insecure: []string{"reg.internal", "10.0.0.5:5000"}}
	for _, tc := range []struct {
		ref, scheme string
	}{
		{"busybox", "https"},
		{"localhost:5000/app", "http"},
		{"127.0.0.1:5000/app", "http"},
		{"127.1.2.3/app", "http"},
		{"[::1]:5000/app", "http"},
		{"reg.internal/app", "http"},
		{"reg.internal:8443/app", "http"},
		{"10.0.0.5:5000/app", "http"},
		{"ghcr.io/app", "https"},
	} {
		r, err := o.Parse(tc.ref)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.ref, err)
			continue
		}
		if got := r.Context().Scheme(); got != tc.scheme {
			t.Errorf("Parse(%q) scheme %s, want %s", tc.ref, got, tc.scheme)
		}
	}
	for _, host := range []string{"10.0.0.5:6000", "10.0.0.6:5000", "192.168.1.1:5000", "ghcr.io"} {
		if o.plainHTTP(host) {
			t.Errorf("plainHTTP(%q) = true, want TLS", host)
		}
	}
}

package attest

import (
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestImagePURL: package URLs as BuildKit's RefToPURL writes them.
func TestImagePURL(t *testing.T) {
	amd := &v1.Platform{OS: "linux", Architecture: "amd64"}
	for _, tc := range []struct {
		ref  string
		p    *v1.Platform
		want string
	}{
		{"docker.io/library/busybox:latest", amd, "pkg:docker/busybox@latest?platform=linux%2Famd64"},
		{"busybox", nil, "pkg:docker/busybox@latest"},
		{"index.docker.io/library/alpine:3.18", nil, "pkg:docker/alpine@3.18"},
		{"docker.io/user/app:1", nil, "pkg:docker/user/app@1"},
		{"docker.io/library/a/b:1", nil, "pkg:docker/library/a/b@1"},
		{"127.0.0.1:5000/mp/app:1", amd, "pkg:docker/127.0.0.1:5000/mp/app@1?platform=linux%2Famd64"},
		{"localhost/app:v+1", nil, "pkg:docker/localhost/app@v%2B1"},
		{"ghcr.io/o/r@sha256:abcd", amd, "pkg:docker/ghcr.io/o/r?digest=sha256:abcd&platform=linux%2Famd64"},
		{"docker.io/library/alpine:3.18@sha256:abcd", nil, "pkg:docker/alpine@3.18?digest=sha256:abcd"},
		{"busybox", &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, "pkg:docker/busybox@latest?platform=linux%2Farm64"},
		{"busybox", &v1.Platform{OS: "linux", Architecture: "arm"}, "pkg:docker/busybox@latest?platform=linux%2Farm%2Fv7"},
	} {
		got, err := ImagePURL(tc.ref, tc.p)
		if err != nil || got != tc.want {
			t.Errorf("ImagePURL(%q, %v) = %q, %v; want %q", tc.ref, tc.p, got, err, tc.want)
		}
	}
	if _, err := ImagePURL("", nil); err == nil {
		t.Error("ImagePURL of an empty reference: no error")
	}
}

// TestRedactURL: credentials become xxxxx, as BuildKit's
// urlutil.RedactCredentials writes them.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@example.com/r.git": "https://xxxxx:xxxxx@example.com/r.git",
		"https://token@example.com/f":       "https://xxxxx@example.com/f",
		"https://example.com/f":             "https://example.com/f",
		"git@github.com:org/repo.git":       "git@github.com:org/repo.git",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

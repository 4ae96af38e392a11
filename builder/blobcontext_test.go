package builder

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/registry"
)

// TestRegistryBlob: only a registry blob URL of a sha256 digest is one;
// it names the repository and digest, and a loopback registry is
// reached over plain HTTP whatever scheme the URL says.
func TestRegistryBlob(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		url, want string
	}{
		{"https://reg.example/v2/team/app/blobs/sha256:" + hex, "reg.example/team/app@sha256:" + hex},
		{"http://127.0.0.1:5000/v2/a/b/c/blobs/sha256:" + hex, "127.0.0.1:5000/a/b/c@sha256:" + hex},
		{"https://reg.example/v2/team/app/blobs/sha256:abc", ""},
		{"https://reg.example/v2/team/app/blobs/sha256:" + hex + "?x=1", ""},
		{"https://example.com/ctx.tar.gz", ""},
		{"https://reg.example/v2/team/app/manifests/sha256:" + hex, ""},
	} {
		d, ok := registryBlob(tc.url, registry.Options{})
		if got := map[bool]string{true: d.String()}[ok]; got != tc.want {
			t.Errorf("%s: %q, want %q", tc.url, got, tc.want)
		}
	}
	d, _ := registryBlob("https://127.0.0.1:5000/v2/a/blobs/sha256:"+hex, registry.Options{})
	if d.Context().Scheme() != "http" {
		t.Errorf("loopback blob over %s", d.Context().Scheme())
	}
}

// TestOpenRegistryBlob: the blob is read through the registry
// transport, and bytes that do not match the digest fail the read.
func TestOpenRegistryBlob(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	l := static.NewLayer([]byte("context bytes"), types.OCILayer)
	repo, err := name.NewRepository(reg.Host + "/ctx")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteLayer(repo, l, reg.Options.Remote(t.Context())...); err != nil {
		t.Fatal(err)
	}
	dg, _ := l.Digest()
	d, ok := registryBlob("http://"+reg.Host+"/v2/ctx/blobs/"+dg.String(), reg.Options)
	if !ok {
		t.Fatal("not a registry blob")
	}
	rc, err := openRegistryBlob(t.Context(), reg.Options, d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "context bytes" {
		t.Fatalf("read %q, %v", b, err)
	}
	reg.Tamper(dg)
	rc, err = openRegistryBlob(t.Context(), reg.Options, d)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if err == nil {
		t.Error("tampered bytes read without error")
	}
}

// TestWriteResultFileMountPoint: a result file bind-mounted over (as
// Kubernetes mounts /dev/termination-log) is written in place.
func TestWriteResultFileMountPoint(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "kubelet-file"), filepath.Join(dir, "termination-log")
	for _, f := range []string{src, dst} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("bind mount: %v (needs root)", err)
	}
	defer syscall.Unmount(dst, 0)
	if err := writeResultFile(dst, []byte(`{"containerimage.digest":"sha256:x"}`)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil || !bytes.Contains(b, []byte("sha256:x")) {
		t.Errorf("the mounted file holds %q, %v", b, err)
	}
}

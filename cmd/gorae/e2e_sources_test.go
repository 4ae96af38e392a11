package main

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/gorae/gorae/internal/testutil"
)

// TestAddURLWithChecksum downloads from a local HTTP server; a wrong
// checksum fails the build with both digests named.
func TestAddURLWithChecksum(t *testing.T) {
	g := newGorae(t)
	body := "downloaded content\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	sum := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(body)))
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "rootfs")
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": fmt.Sprintf("FROM busybox\nADD --checksum=%s %s/files/data.txt /dl/\n", sum, srv.URL)})
	g.Must(t, dir, "build", "--output", "type=local,dest="+out, ".")
	b, err := os.ReadFile(filepath.Join(out, "dl", "data.txt"))
	if err != nil || string(b) != body {
		t.Fatalf("downloaded file = %q, %v", b, err)
	}
	if fi, _ := os.Stat(filepath.Join(out, "dl", "data.txt")); fi.Mode().Perm() != 0o600 {
		t.Errorf("downloaded file mode %v, want 0600 as Docker", fi.Mode().Perm())
	}
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": fmt.Sprintf("FROM busybox\nADD --checksum=sha256:%s %s/files/data.txt /dl/\n", strings.Repeat("0", 64), srv.URL)})
	r := g.Run(t, dir, "build", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "checksum mismatch") || !strings.Contains(r.Stderr, sum) {
		t.Errorf("wrong checksum: exit %d\n%s", r.Code, r.Stderr)
	}
}

// TestTargetStdinAndNamedContext covers -f -, --target with stage pruning,
// COPY --from an image in the store and --build-context.
func TestTargetStdinAndNamedContext(t *testing.T) {
	g := newGorae(t)
	dir, extra := t.TempDir(), t.TempDir()
	testutil.WriteFiles(t, extra, map[string]string{"lib/extra.txt": "extra\n"})
	testutil.WriteFiles(t, dir, map[string]string{"a.txt": "a\n"})
	df := `FROM busybox AS never
COPY does-not-exist /x

FROM scratch AS wanted
COPY --from=busybox /bin/busybox /bin/busybox
COPY --from=extra lib/ /lib/
COPY a.txt /
`
	out := filepath.Join(t.TempDir(), "rootfs")
	cmd := []string{"build", "-f", "-", "--target", "wanted", "--build-context", "extra=" + extra, "--output", "type=local,dest=" + out, "."}
	r := g.RunStdin(t, dir, df, cmd...)
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	for p, want := range map[string]string{"a.txt": "a\n", "lib/extra.txt": "extra\n"} {
		if b, err := os.ReadFile(filepath.Join(out, p)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v", p, b, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "bin", "busybox")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("/bin/busybox from the image: %v", err)
	}
}

// TestReproducibleWithSourceDateEpoch: two uncached builds with the same
// SOURCE_DATE_EPOCH give the same digest; zstd and Docker media types work.
func TestReproducibleWithSourceDateEpoch(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox\nWORKDIR /w\nCOPY . .\n",
		"f":          "f\n",
	})
	g.Env = []string{"SOURCE_DATE_EPOCH=1700000000"}
	a := g.Must(t, dir, "build", "-q", "--no-cache", ".")
	b := g.Must(t, dir, "build", "-q", "--no-cache", ".")
	if a.Stdout != b.Stdout {
		t.Errorf("same inputs and epoch gave %s and %s", strings.TrimSpace(a.Stdout), strings.TrimSpace(b.Stdout))
	}
	oci := filepath.Join(t.TempDir(), "oci")
	g.Must(t, dir, "build", "-q", "--compression", "zstd", "--output", "type=oci,tar=false,dest="+oci, ".")
	idx, err := layout.ImageIndexFromPath(oci)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if got := m.Layers[len(m.Layers)-1].MediaType; got != "application/vnd.oci.image.layer.v1.tar+zstd" {
		t.Errorf("zstd layer media type %s", got)
	}
	cf, _ := img.ConfigFile()
	if cf.Created.Unix() != 1700000000 {
		t.Errorf("created %v, want the epoch", cf.Created)
	}
	r := g.Must(t, dir, "build", "-t", "dockertypes", "--oci-mediatypes=false", ".")
	_ = r
	r = g.Must(t, dir, "inspect", "dockertypes")
	if !strings.Contains(r.Stdout, "application/vnd.docker.distribution.manifest.v2+json") {
		t.Errorf("--oci-mediatypes=false did not give a Docker manifest:\n%s", r.Stdout)
	}
}

package kubejob

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorae/gorae/internal/testutil"
)

func tarFiles(t *testing.T, b *contextBlob) map[string]string {
	t.Helper()
	f, err := os.Open(b.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d", h.Name, h.Uid, h.Gid)
		}
		out[h.Name] = string(data)
	}
}

// TestMainContext: the tar holds what .dockerignore keeps, the
// Dockerfile under .gorae-bake with the same patterns plus .gorae-bake
// itself, and equal trees give equal blobs.
func TestMainContext(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile":                     "FROM scratch\nCOPY . /\n",
		".dockerignore":                  "secret*\nDockerfile\n!secret-ok\n",
		"a.txt":                          "a",
		"sub/b.txt":                      "b",
		"secret.key":                     "no",
		"secret-ok":                      "yes",
		"docker/Dockerfile":              "FROM busybox\n",
		"docker/Dockerfile.dockerignore": "sub\n",
	})
	old := time.Unix(1700000000, 0)
	os.Chtimes(filepath.Join(dir, "a.txt"), old, old)
	b1, err := mainContext(dir, "", "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	files := tarFiles(t, b1)
	for _, want := range []string{"a.txt", "sub/", "sub/b.txt", "secret-ok", ".dockerignore", ".gorae-bake/Dockerfile", ".gorae-bake/Dockerfile.dockerignore"} {
		if _, ok := files[want]; !ok {
			t.Errorf("tar lacks %s: %v", want, files)
		}
	}
	for _, no := range []string{"secret.key", "Dockerfile"} {
		if _, ok := files[no]; ok {
			t.Errorf("tar holds %s, which .dockerignore excludes", no)
		}
	}
	if files[".gorae-bake/Dockerfile"] != "FROM scratch\nCOPY . /\n" {
		t.Errorf("Dockerfile %q", files[".gorae-bake/Dockerfile"])
	}
	if got := files[".gorae-bake/Dockerfile.dockerignore"]; got != "secret*\nDockerfile\n!secret-ok\n.gorae-bake\n" {
		t.Errorf("Dockerfile.dockerignore %q", got)
	}
	b2, err := mainContext(dir, "", "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if b1.digest != b2.digest || b1.size != b2.size {
		t.Errorf("the same context twice: %s (%d) and %s (%d)", b1.digest, b1.size, b2.digest, b2.size)
	}
	testutil.WriteFiles(t, dir, map[string]string{"secret.key": "changed"})
	if b3, _ := mainContext(dir, "", "", t.TempDir()); b3.digest != b1.digest {
		t.Error("an ignored file changed the blob")
	}
	testutil.WriteFiles(t, dir, map[string]string{"a.txt": "changed"})
	if b4, _ := mainContext(dir, "", "", t.TempDir()); b4.digest == b1.digest {
		t.Error("a changed file left the blob as it was")
	}

	// A Dockerfile elsewhere brings its own .dockerignore.
	b5, err := mainContext(dir, "docker/Dockerfile", "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	files = tarFiles(t, b5)
	if _, ok := files["sub/b.txt"]; ok || files[".gorae-bake/Dockerfile"] != "FROM busybox\n" || files["secret.key"] != "changed" {
		t.Errorf("with docker/Dockerfile: %v", files)
	}
	// dockerfile-inline.
	b6, err := mainContext(dir, "", "FROM inline\n", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if files = tarFiles(t, b6); files[".gorae-bake/Dockerfile"] != "FROM inline\n" {
		t.Errorf("inline Dockerfile: %q", files[".gorae-bake/Dockerfile"])
	}

	testutil.WriteFiles(t, dir, map[string]string{".gorae-bake": "mine"})
	if _, err := mainContext(dir, "", "", t.TempDir()); err == nil || !strings.Contains(err.Error(), ".gorae-bake") {
		t.Errorf("a context with its own .gorae-bake: %v", err)
	}
}

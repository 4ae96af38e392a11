package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/longpath"
)

// deepComp is one 250-byte path component; deepN of them (and their
// slashes) make a path of 4,517 bytes, past PATH_MAX.
var deepComp = strings.Repeat("d", 250)

const deepN = 18

// deepRel is the long relative directory the tests use.
func deepRel() string {
	parts := make([]string, deepN)
	for i := range parts {
		parts[i] = deepComp
	}
	return strings.Join(parts, "/")
}

// cdDeep is a shell line that walks into deepRel one component at a time
// (`cd -P`, so the shell never hands the kernel the whole path),
// creating each directory when mk is set.
func cdDeep(mk bool) string {
	step := "cd -P " + deepComp
	if mk {
		step = "mkdir " + deepComp + " && " + step
	}
	return "i=0; while [ $i -lt 18 ]; do " + step + " || exit 1; i=$((i+1)); done"
}

// writeDeep writes content at dir/deepRel()/name, through os.Root.
func writeDeep(t *testing.T, dir, name, content string) {
	t.Helper()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.MkdirAll(deepRel(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(deepRel()+"/"+name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readDeep reads dir/deepRel()/name.
func readDeep(t *testing.T, dir, name string) (string, error) {
	t.Helper()
	f, err := longpath.Open(filepath.Join(dir, deepRel(), name))
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

// ociImage builds with an OCI layout output and returns the image.
func ociImage(t *testing.T, g *testutil.Gorae, dir string, args ...string) v1.Image {
	t.Helper()
	oci := filepath.Join(t.TempDir(), "oci")
	g.Must(t, dir, append(append([]string{"build", "-q"}, args...), "--output", "type=oci,tar=false,dest="+oci, ".")...)
	idx, err := layout.ImageIndexFromPath(oci)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// lastLayerFile returns the content of name in the image's last layer.
func lastLayerFile(t *testing.T, img v1.Image, name string) (string, bool) {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ls[len(ls)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "/") == name {
			b, _ := io.ReadAll(tr)
			return string(b), true
		}
	}
}

// TestLongPathContextCopied: a context file whose path is longer than
// PATH_MAX is COPYed whole (the layer carries it), RUN reads it, the
// local exporter writes it, and a second build is all cached.
func TestLongPathContextCopied(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY ctx/ /ctx/\nRUN cd /ctx && " + cdDeep(false) + " && cat deep.txt > /seen\n",
	})
	os.Mkdir(filepath.Join(dir, "ctx"), 0o755)
	writeDeep(t, filepath.Join(dir, "ctx"), "deep.txt", "deep content\n")
	img := ociImage(t, g, dir)
	_, bodies := files(t, img)
	if got := bodies["/ctx/"+deepRel()+"/deep.txt"]; got != "deep content\n" {
		t.Errorf("the image holds the deep file as %q", got)
	}
	if got := bodies["/seen"]; got != "deep content\n" {
		t.Errorf("RUN read the deep file as %q", got)
	}
	out := filepath.Join(t.TempDir(), "out")
	g.Must(t, dir, "build", "-q", "--output", "type=local,dest="+out, ".")
	if got, err := readDeep(t, filepath.Join(out, "ctx"), "deep.txt"); err != nil || got != "deep content\n" {
		t.Errorf("type=local wrote the deep file as %q, %v", got, err)
	}
	r := g.Must(t, dir, "build", "--progress=plain", ".")
	if strings.Count(r.Stderr, "CACHED") < 2 {
		t.Errorf("a warm rebuild with a deep context file is not cached:\n%s", r.Stderr)
	}
}

// TestLongPathBaseLayer: an imported base whose layer holds a path
// longer than PATH_MAX is unpacked whole: RUN reads the file, COPY
// --from copies it.
func TestLongPathBaseLayer(t *testing.T) {
	g := newGorae(t)
	base := deepBusyboxTar(t)
	g.Must(t, ".", "import", "-c", `CMD ["sh"]`, base, "deepbase")
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM deepbase AS base\nRUN cd /deep && " + cdDeep(false) + " && cat base.txt > /seen\n" +
			"FROM busybox\nCOPY --from=base /seen /seen\nCOPY --from=base /deep /copied\n",
	})
	img := ociImage(t, g, dir)
	_, bodies := files(t, img)
	if got := bodies["/seen"]; got != "from the base\n" {
		t.Errorf("RUN read the base's deep file as %q", got)
	}
	if got := bodies["/copied/"+deepRel()+"/base.txt"]; got != "from the base\n" {
		t.Errorf("COPY --from copied the base's deep file as %q", got)
	}
}

// deepBusyboxTar is the busybox root filesystem tar with
// /deep/<deepRel>/base.txt added.
func deepBusyboxTar(t *testing.T) string {
	t.Helper()
	src, err := os.Open(testutil.BusyboxTar(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(t.TempDir(), "deep.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	tr := tar.NewReader(src)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	p := "deep"
	for range deepN {
		p += "/" + deepComp
		tw.WriteHeader(&tar.Header{Name: p + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	}
	body := "from the base\n"
	tw.WriteHeader(&tar.Header{Name: p + "/base.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
	tw.Write([]byte(body))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLongPathRunOutput: a RUN that creates a path longer than PATH_MAX
// gives a layer that carries it, a later stage copies it, and the local
// exporter writes it.
func TestLongPathRunOutput(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox AS made\nRUN mkdir /made && cd /made && " + cdDeep(true) + " && echo made > made.txt\n" +
			"FROM busybox\nCOPY --from=made /made /made\n",
	})
	img := ociImage(t, g, dir, "--target", "made")
	if got, ok := lastLayerFile(t, img, "made/"+deepRel()+"/made.txt"); !ok || got != "made\n" {
		t.Errorf("the RUN layer holds the deep file as %q (present: %v)", got, ok)
	}
	img = ociImage(t, g, dir)
	if got, ok := lastLayerFile(t, img, "made/"+deepRel()+"/made.txt"); !ok || got != "made\n" {
		t.Errorf("COPY --from of the RUN's deep file gives %q (present: %v)", got, ok)
	}
	out := filepath.Join(t.TempDir(), "out")
	g.Must(t, dir, "build", "-q", "--output", "type=local,dest="+out, ".")
	if got, err := readDeep(t, filepath.Join(out, "made"), "made.txt"); err != nil || got != "made\n" {
		t.Errorf("type=local wrote the deep file as %q, %v", got, err)
	}
}

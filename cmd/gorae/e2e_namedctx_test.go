package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/internal/testutil"
)

// TestBuildContextImages: --build-context NAME=docker-image://REF and
// NAME=oci-layout://DIR[:TAG|@DIGEST] replace FROM NAME (config
// included) and COPY --from=NAME, as buildx does.
func TestBuildContextImages(t *testing.T) {
	g := newGorae(t)
	// An OCI layout holding an image with a marker file and its own CMD.
	src, oci := t.TempDir(), filepath.Join(t.TempDir(), "layout")
	testutil.WriteFiles(t, src, map[string]string{"marker": "from the layout\n", "Dockerfile": "FROM busybox\nCOPY marker /marker\nCMD [\"cat\", \"/marker\"]\n"})
	g.Must(t, src, "build", "-q", "-t", "layoutimg:v2", "--output", "type=oci,tar=false,dest="+oci, ".")
	var idx v1.IndexManifest
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(oci, "index.json"))), &idx); err != nil || len(idx.Manifests) == 0 {
		t.Fatalf("index.json: %v", err)
	}
	digest := idx.Manifests[0].Digest.String()

	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM base\nCOPY --from=tools /bin/busybox /tools/busybox\n"})
	for _, spec := range []string{"oci-layout://" + oci, "oci-layout://" + oci + "@" + digest} {
		hs, bodies := rootfsTar(t, g, dir, "--build-context", "base="+spec, "--build-context", "tools=docker-image://busybox", ".")
		if bodies["/marker"] != "from the layout\n" {
			t.Errorf("%s: /marker = %q", spec, bodies["/marker"])
		}
		checkFile(t, hs, "/tools/busybox", 0o755, 0, 0)
	}
	g.Must(t, dir, "build", "-q", "-t", "fromlayout", "--build-context", "base=oci-layout://"+oci, "--build-context", "tools=docker-image://busybox", ".")
	var insp struct {
		Config struct{ Config struct{ Cmd []string } } `json:"config"`
	}
	json.Unmarshal([]byte(g.Must(t, ".", "inspect", "fromlayout").Stdout), &insp)
	if strings.Join(insp.Config.Config.Cmd, " ") != "cat /marker" {
		t.Errorf("the layout image's config is not the base: Cmd %v", insp.Config.Config.Cmd)
	}
	// docker-image:// for FROM: busybox's config (CMD sh).
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM docker.io/library/mybase:latest\nLABEL x=y\n"})
	g.Must(t, dir, "build", "-q", "-t", "fromimage", "--build-context", "mybase=docker-image://busybox", ".")
	json.Unmarshal([]byte(g.Must(t, ".", "inspect", "fromimage").Stdout), &insp)
	if strings.Join(insp.Config.Config.Cmd, " ") != "sh" {
		t.Errorf("docker-image context: Cmd %v, want busybox's", insp.Config.Config.Cmd)
	}

	noIndex := t.TempDir()
	for _, tc := range []struct{ spec, want string }{
		{"oci-layout://" + noIndex, "--build-context base=oci-layout://" + noIndex + ": " + noIndex + " is not an OCI image layout: it has no index.json"},
		{"oci-layout://" + oci + ":nosuchtag", `has no image tagged "nosuchtag"`},
		{"docker-image://127.0.0.1:1/nope:latest", "--build-context base=docker-image://127.0.0.1:1/nope:latest: "},
	} {
		testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM base\n"})
		r := g.Run(t, dir, "build", "--build-context", "base="+tc.spec, ".")
		if r.Code != 1 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%s: exit %d, want %q\n%s", tc.spec, r.Code, tc.want, r.Stderr)
		}
	}
	if r := g.Run(t, dir, "build", "--build-context", "base=/no/such/dir", "."); r.Code != 2 {
		t.Errorf("a missing directory: exit %d\n%s", r.Code, r.Stderr)
	}
}

// TestBuildContextURLs: --build-context NAME=<git URL> and
// NAME=<tarball URL> for COPY --from=NAME.
func TestBuildContextURLs(t *testing.T) {
	g := newGorae(t)
	srv := testutil.NewGitServer(t)
	srv.Repo(t, "lib")
	srv.Commit(t, "lib", map[string]string{"src/lib.txt": "lib\n"})
	tarSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(compressed(t, "gz", contextTar(t)))
	}))
	defer tarSrv.Close()
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nCOPY --from=lib lib.txt /lib/\nCOPY --from=assets tool.sh lib/ /assets/\n"})
	hs, bodies := rootfsTar(t, g, dir, "--build-context", "lib="+srv.URL+"/lib.git#main:src", "--build-context", "assets="+tarSrv.URL+"/ctx.tar.gz", ".")
	if bodies["/lib/lib.txt"] != "lib\n" {
		t.Errorf("/lib/lib.txt = %q", bodies["/lib/lib.txt"])
	}
	checkFile(t, hs, "/assets/tool.sh", 0o750, 0, 0)
	checkFile(t, hs, "/assets/a.txt", 0o600, 0, 0)
	r := g.Run(t, dir, "build", "--build-context", "lib="+srv.URL+"/lib.git#nope", "--build-context", "assets="+tarSrv.URL+"/x.tar", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "--build-context lib="+srv.URL+"/lib.git#nope: ") || !strings.Contains(r.Stderr, `no branch, tag or ref "nope"`) {
		t.Errorf("missing ref: exit %d\n%s", r.Code, r.Stderr)
	}
	for _, d := range []string{"git", "contexts"} {
		if _, err := os.Stat(filepath.Join(g.Root, d)); err != nil {
			t.Errorf("no %s cache under the root: %v", d, err)
		}
	}
	// prune --all drops git repositories, checkouts and remote contexts.
	g.Must(t, dir, "prune", "--all")
	for _, d := range []string{"git", "contexts"} {
		if _, err := os.Stat(filepath.Join(g.Root, d)); err == nil {
			t.Errorf("%s/ is still under the root after prune --all", d)
		}
	}
}

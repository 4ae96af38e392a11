package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/gorae/gorae/internal/testutil"
)

// TestBuildGitContext: `gorae build URL#ref[:dir]` builds from a
// checkout: its Dockerfile, its .dockerignore, -f inside it; an
// unchanged commit is a cached rebuild without fetching.
func TestBuildGitContext(t *testing.T) {
	g := newGorae(t)
	srv := testutil.NewGitServer(t)
	srv.Repo(t, "app")
	c1 := srv.Commit(t, "app", map[string]string{
		"Dockerfile":         "FROM busybox\nCOPY . /ctx/\n",
		".dockerignore":      "secret.txt\n",
		"secret.txt":         "no\n",
		"README":             "one\n",
		"web/Dockerfile.alt": "FROM busybox\nCOPY index.html /alt/\n",
		"web/index.html":     "<p>hi</p>\n",
	})
	url := srv.URL + "/app.git"
	hs, bodies := rootfsTar(t, g, t.TempDir(), url+"#main")
	checkFile(t, hs, "/ctx/README", 0o644, 0, 0)
	checkFile(t, hs, "/ctx/web/index.html", 0o644, 0, 0)
	for _, p := range []string{"/ctx/secret.txt", "/ctx/.git"} {
		if _, ok := hs[p]; ok {
			t.Errorf("%s is in the image (.dockerignore, no .git)", p)
		}
	}
	if bodies["/ctx/README"] != "one\n" {
		t.Errorf("README = %q", bodies["/ctx/README"])
	}
	// A subdirectory as the context, -f relative to it.
	hs, _ = rootfsTar(t, g, t.TempDir(), "-f", "Dockerfile.alt", url+"#main:web")
	checkFile(t, hs, "/alt/index.html", 0o644, 0, 0)

	iid1, iid2 := filepath.Join(t.TempDir(), "1"), filepath.Join(t.TempDir(), "2")
	r := g.Must(t, t.TempDir(), "build", "--progress=plain", "--iidfile", iid1, url)
	if !strings.Contains(r.Stderr, "is commit "+c1) {
		t.Errorf("the commit is not named:\n%s", r.Stderr)
	}
	// The default epoch of a git context is its commit's time.
	ct := strings.TrimSpace(testutil.Git(t, filepath.Join(srv.Root, "app.git"), "log", "-1", "--format=%ct", c1))
	var insp struct{ Config struct{ Created time.Time } }
	json.Unmarshal([]byte(g.Must(t, ".", "inspect", readFile(t, iid1)).Stdout), &insp)
	if fmt.Sprint(insp.Config.Created.Unix()) != ct {
		t.Errorf("created %v, want the commit's time %s", insp.Config.Created, ct)
	}
	fetches := srv.Fetches()
	g.Must(t, t.TempDir(), "build", "--iidfile", iid2, url)
	if readFile(t, iid1) != readFile(t, iid2) || srv.Fetches() != fetches {
		t.Errorf("unchanged commit: images %s %s, fetches %d (was %d)", readFile(t, iid1), readFile(t, iid2), srv.Fetches(), fetches)
	}
	srv.Commit(t, "app", map[string]string{"README": "two\n"})
	_, bodies = rootfsTar(t, g, t.TempDir(), url)
	if bodies["/ctx/README"] != "two\n" {
		t.Errorf("after a new commit README = %q", bodies["/ctx/README"])
	}

	// Errors name the context.
	for _, tc := range []struct{ arg, want string }{
		{url + "#nope", url + `#nope: the repository has no branch, tag or ref "nope"`},
		{"http://127.0.0.1:1/app.git", "build context http://127.0.0.1:1/app.git: cannot read the git repository"},
	} {
		r := g.Run(t, t.TempDir(), "build", tc.arg)
		if r.Code != 1 || !strings.Contains(r.Stderr, tc.want) || strings.Contains(r.Stderr, tc.arg+": "+tc.arg) {
			t.Errorf("build %s: exit %d, want %q naming the URL once\n%s", tc.arg, r.Code, tc.want, r.Stderr)
		}
	}
	// A Dockerfile missing from the checkout is named as the user wrote
	// it, not as a path under $GORAE_ROOT; so is a named git context.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", "nofile", url}, "\ngorae: build context " + url + " has no nofile: name the Dockerfile inside it with -f\n"},
		{[]string{url + "#main:web"}, "\ngorae: build context " + url + "#main:web has no Dockerfile: name the Dockerfile inside it with -f\n"},
		{[]string{"--build-context", "x=" + url + "#nope", "."}, "gorae: --build-context x=" + url + `#nope: the repository has no branch, tag or ref "nope"`},
	} {
		r := g.Run(t, t.TempDir(), append([]string{"build"}, tc.args...)...)
		if r.Code != 1 || !strings.Contains(r.Stderr, tc.want) || strings.Contains(r.Stderr, "#nope: "+url) {
			t.Errorf("build %q: exit %d, want %q naming the URL once\n%s", tc.args, r.Code, tc.want, r.Stderr)
		}
	}
}

// contextTar is a build context as a tar: a Dockerfile copying it all,
// a file with mode 0750, a subdirectory and a .dockerignore.
func contextTar(t *testing.T) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, body string) {
		typ := byte(tar.TypeReg)
		if strings.HasSuffix(name, "/") {
			typ = tar.TypeDir
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: typ, Uid: 0, Gid: 0}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	add("Dockerfile", 0o644, "FROM busybox\nCOPY . /ctx/\n")
	add("other.Dockerfile", 0o644, "FROM busybox\nCOPY tool.sh /other/\n")
	add(".dockerignore", 0o644, "*.log\n")
	add("tool.sh", 0o750, "#!/bin/sh\n")
	add("lib/", 0o755, "")
	add("lib/a.txt", 0o600, "a\n")
	add("debug.log", 0o644, "x\n")
	tw.Close()
	return buf.Bytes()
}

func compressed(t *testing.T, format string, plain []byte) []byte {
	var buf bytes.Buffer
	switch format {
	case "tar":
		return plain
	case "gz":
		zw := gzip.NewWriter(&buf)
		zw.Write(plain)
		zw.Close()
	case "zst":
		zw, _ := zstd.NewWriter(&buf)
		zw.Write(plain)
		zw.Close()
	default: // bz2, xz through their tools
		tool := map[string]string{"bz2": "bzip2", "xz": "xz"}[format]
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
		cmd := exec.Command(tool, "-c")
		cmd.Stdin, cmd.Stdout = bytes.NewReader(plain), &buf
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestBuildTarballContext: an http(s) URL of a tar (plain or compressed)
// or a tar on standard input is the build context; its .dockerignore
// applies and -f names a file inside it. A body that is not a tar is an
// error naming the URL; `gorae build - < Dockerfile` builds without a
// context, as docker build.
func TestBuildTarballContext(t *testing.T) {
	g := newGorae(t)
	plain := contextTar(t)
	bodies := map[string][]byte{"/not-a-tar": []byte("just text\n")}
	for _, f := range []string{"tar", "gz", "zst", "bz2", "xz"} {
		t.Run(f, func(t *testing.T) { bodies["/ctx."+f] = compressed(t, f, plain) })
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer srv.Close()
	for p := range bodies {
		if p == "/not-a-tar" {
			continue
		}
		hs, contents := rootfsTar(t, g, t.TempDir(), srv.URL+p)
		checkFile(t, hs, "/ctx/tool.sh", 0o750, 0, 0)
		checkFile(t, hs, "/ctx/lib/a.txt", 0o600, 0, 0)
		checkFile(t, hs, "/ctx/lib", 0o755, 0, 0)
		if _, ok := hs["/ctx/debug.log"]; ok {
			t.Errorf("%s: .dockerignore not applied", p)
		}
		if contents["/ctx/lib/a.txt"] != "a\n" {
			t.Errorf("%s: a.txt = %q", p, contents["/ctx/lib/a.txt"])
		}
	}
	hs, _ := rootfsTar(t, g, t.TempDir(), "-f", "other.Dockerfile", srv.URL+"/ctx.gz")
	checkFile(t, hs, "/other/tool.sh", 0o750, 0, 0)

	// A tar on standard input, -f inside it.
	out := filepath.Join(t.TempDir(), "rootfs.tar")
	r := g.RunStdin(t, t.TempDir(), string(compressed(t, "gz", plain)), "build", "-q", "-f", "other.Dockerfile", "--output", "type=tar,dest="+out, "-")
	if r.Code != 0 {
		t.Fatalf("build - < ctx.tar.gz: exit %d\n%s", r.Code, r.Stderr)
	}
	if b, _ := os.ReadFile(out); !bytes.Contains(b, []byte("other/tool.sh")) {
		t.Errorf("build - < ctx.tar.gz did not use the tar's other.Dockerfile")
	}
	// A Dockerfile on standard input: no context.
	r = g.RunStdin(t, t.TempDir(), "FROM busybox\nLABEL from=stdin\n", "build", "-t", "stdin-df", "-")
	if r.Code != 0 || !strings.Contains(g.Must(t, ".", "inspect", "stdin-df").Stdout, `"from": "stdin"`) {
		t.Errorf("build - < Dockerfile: exit %d\n%s", r.Code, r.Stderr)
	}

	// ... and then -f is refused, not silently ignored (as buildx).
	r = g.RunStdin(t, t.TempDir(), "FROM busybox\n", "build", "-f", "other.Dockerfile", "-")
	if r.Code != 2 || !strings.Contains(r.Stderr, "invalid -f other.Dockerfile: standard input holds a Dockerfile (not a tar of the context), so -f cannot name another one") {
		t.Errorf("build -f F - < Dockerfile: exit %d, want 2\n%s", r.Code, r.Stderr)
	}
	// An existing directory is local even when its name reads as a git
	// URL (scp form), as buildx.
	dir := filepath.Join(t.TempDir(), "user@host:app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nLABEL from=dir\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := g.Run(t, filepath.Dir(dir), "build", "-q", "user@host:app"); r.Code != 0 {
		t.Errorf("build of a local directory named user@host:app: exit %d\n%s", r.Code, r.Stderr)
	}

	for _, tc := range []struct{ url, want string }{
		{srv.URL + "/not-a-tar", "build context " + srv.URL + "/not-a-tar: not a tar archive"},
		{srv.URL + "/missing.tar", "build context " + srv.URL + "/missing.tar: download: the server answered 404 Not Found"},
	} {
		r := g.Run(t, t.TempDir(), "build", tc.url)
		if r.Code != 1 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("build %s: exit %d, want %q\n%s", tc.url, r.Code, tc.want, r.Stderr)
		}
	}
	// A truncated tar says so, in the user's words (not "layer tar").
	r = g.RunStdin(t, t.TempDir(), string(plain[:520]), "build", "-")
	if want := "gorae: build context from standard input: the tar ends early (truncated or damaged): give the whole archive\n"; r.Code != 1 || r.Stderr != want {
		t.Errorf("build - < truncated tar: exit %d, stderr %q, want %q", r.Code, r.Stderr, want)
	}
	// A remote context is someone else's: a Dockerfile or .dockerignore
	// that links out of it is refused, never read from the host.
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("TOPSECRET host file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Dockerfile", ".dockerignore"} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		if name != "Dockerfile" {
			tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: 13, Typeflag: tar.TypeReg})
			tw.Write([]byte("FROM busybox\n"))
		}
		tw.WriteHeader(&tar.Header{Name: name, Linkname: secret, Mode: 0o777, Typeflag: tar.TypeSymlink})
		tw.Close()
		r := g.RunStdin(t, t.TempDir(), buf.String(), "build", "-")
		if want := "gorae: the build context on standard input: " + name + " does not resolve inside the context"; r.Code != 1 || !strings.HasPrefix(r.Stderr, want) || strings.Contains(r.Stderr, "TOPSECRET") {
			t.Errorf("build - < tar with %s -> host file: exit %d, want %q\n%s", name, r.Code, want, r.Stderr)
		}
	}
	if r := g.RunStdin(t, t.TempDir(), "x", "build", "-f", "-", "-"); r.Code != 2 {
		t.Errorf("-f - with context -: exit %d\n%s", r.Code, r.Stderr)
	}
	if entries, _ := os.ReadDir(filepath.Join(g.Root, "tmp")); len(entries) != 0 {
		t.Errorf("builds left %d entries in tmp/", len(entries))
	}
}

package main

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/gorae/gorae/internal/testutil"
)

// buildImage builds dir with g (extra flags first) and returns the image
// as written by --output type=docker.
func buildImage(t *testing.T, g *testutil.Gorae, dir string, args ...string) (v1.Image, testutil.Result) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "image.tar")
	args = append(append([]string{"build", "--progress=plain", "--output", "type=docker,dest=" + out, "-t", "built:latest"}, args...), ".")
	r := g.Must(t, dir, args...)
	tag := name.MustParseReference("built:latest").(name.Tag)
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	return img, r
}

// wantFile checks one file of an image's final filesystem.
func wantFile(t *testing.T, hs map[string]*tar.Header, bodies map[string]string, p string, mode int64, uid, gid int, body string) {
	t.Helper()
	h, ok := hs[p]
	if !ok {
		t.Errorf("%s missing", p)
		return
	}
	if h.Mode&0o7777 != mode || h.Uid != uid || h.Gid != gid {
		t.Errorf("%s: mode %o owner %d:%d, want %o %d:%d", p, h.Mode&0o7777, h.Uid, h.Gid, mode, uid, gid)
	}
	if h.Typeflag == tar.TypeReg && bodies[p] != body {
		t.Errorf("%s: content %q, want %q", p, bodies[p], body)
	}
}

func historyOf(t *testing.T, img v1.Image) []string {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range cf.History {
		out = append(out, h.CreatedBy)
	}
	return out
}

const heredocDockerfile = "FROM busybox\n" +
	"ARG NAME=world\n" +
	"ENV GREETING=hello\n" +
	"COPY <<EOF /x\n$GREETING \"${NAME}\"\nEOF\n" +
	"COPY --chown=1000:1000 --chmod=0600 <<'A' <<\"B\" /etc/app/\n$GREETING\nA\n${NAME}\nB\n" +
	"\tCOPY <<-EOT f.txt /hd/\n\t\ttabs stripped\n\tEOT\n" +
	"ADD <<t.tar /add/\nnot extracted\nt.tar\n" +
	"COPY --link --chown=5:6 <<EOF /linked/a/\nlinked\nEOF\n"

// TestBuildCopyHeredocs: COPY and ADD heredocs become files named after
// their delimiters, 0644 root:root unless --chmod/--chown say otherwise,
// dated when the copy ran; unquoted ones see ARG and ENV, quoted ones and
// <<- keep their text; the history reads as BuildKit's; the content is
// part of the cache key.
func TestBuildCopyHeredocs(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": heredocDockerfile, "f.txt": "F\n"})
	start := time.Now().Add(-time.Second)
	img, _ := buildImage(t, g, dir)
	end := time.Now().Add(time.Second)
	hs, bodies := files(t, img)
	wantFile(t, hs, bodies, "/x", 0o644, 0, 0, "hello \"world\"\n")
	wantFile(t, hs, bodies, "/etc/app", 0o600, 1000, 1000, "")
	wantFile(t, hs, bodies, "/etc/app/A", 0o600, 1000, 1000, "$GREETING\n")
	wantFile(t, hs, bodies, "/etc/app/B", 0o600, 1000, 1000, "${NAME}\n")
	wantFile(t, hs, bodies, "/hd/EOT", 0o644, 0, 0, "tabs stripped\n")
	wantFile(t, hs, bodies, "/hd/f.txt", 0o644, 0, 0, "F\n")
	wantFile(t, hs, bodies, "/add/t.tar", 0o644, 0, 0, "not extracted\n")
	wantFile(t, hs, bodies, "/linked/a", 0o755, 5, 6, "")
	wantFile(t, hs, bodies, "/linked/a/EOF", 0o644, 5, 6, "linked\n")
	if m := hs["/x"].ModTime; m.Before(start) || m.After(end) {
		t.Errorf("/x mtime %v, want the time of the build (%v to %v)", m, start, end)
	}
	want := []string{
		"COPY <<EOF /x # buildkit",
		"COPY --chown=1000:1000 --chmod=0600 <<A <<B /etc/app/ # buildkit",
		"COPY f.txt <<EOT /hd/ # buildkit",
		"ADD <<t.tar /add/ # buildkit",
		"COPY --chown=5:6 <<EOF /linked/a/ # buildkit",
	}
	if got := historyOf(t, img); strings.Join(got[len(got)-5:], "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant the last entries:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Same content: cached. Content changed through an ARG: not cached,
	// and only the heredoc that uses it changes.
	g.Env = []string{"SOURCE_DATE_EPOCH=1700000000"}
	_, r := buildImage(t, g, dir)
	_, r = buildImage(t, g, dir)
	if l := stepLine(r.Stderr, "COPY <<EOF /x", "CACHED"); l == "" {
		t.Errorf("unchanged heredoc not cached:\n%s", r.Stderr)
	}
	img, r = buildImage(t, g, dir, "--explain", "--build-arg", "NAME=there")
	if l := stepLine(r.Stderr, "COPY <<EOF /x", "CACHED"); l != "" {
		t.Errorf("heredoc with new content reused the old layer: %s", l)
	}
	if !strings.Contains(r.Stderr, `changed: heredoc EOF: "14 bytes, sha256:`) {
		t.Errorf("--explain does not name the heredoc:\n%s", r.Stderr)
	}
	hs, bodies = files(t, img)
	wantFile(t, hs, bodies, "/x", 0o644, 0, 0, "hello \"there\"\n")
	wantFile(t, hs, bodies, "/etc/app/B", 0o600, 1000, 1000, "${NAME}\n")
	if m := hs["/x"].ModTime; m.Unix() != 1700000000 {
		t.Errorf("/x mtime %v, want SOURCE_DATE_EPOCH", m)
	}
}

func TestBuildCopyHeredocBadName(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nCOPY <<a/b /x\nhello\na/b\n"})
	r := g.Run(t, dir, "build", "-t", "bad", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "Dockerfile:2: COPY heredoc <<a/b: the delimiter names the file it becomes, so it must be a plain file name") {
		t.Errorf("exit %d\n%s", r.Code, r.Stderr)
	}
}

// TestBuildCreatedParentsOwnership: directories a COPY or ADD creates on
// the way to its destination get what BuildKit gives them: the --chown
// owner, mode 0755 or an octal --chmod (a symbolic one leaves 0755), for
// files, directories, --parents, URLs, tars, heredocs, with and without
// --link; directories that existed keep their owner and mode. WORKDIR's
// new directories belong to USER.
func TestBuildCreatedParentsOwnership(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "page\n")
	}))
	defer srv.Close()
	g := newGorae(t)
	dir := fullContext(t)
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\n" +
		"RUN mkdir -p /exist && chmod 0711 /exist && chown 4:4 /exist\n" +
		"COPY --chown=1000:1000 config.ini /exist/a/b/c/\n" +
		"COPY --link --chown=1000:1000 config.ini /l1/l2/\n" +
		"COPY --chown=1000:1000 assets /d1/d2/d3\n" +
		"COPY --chown=1000:1000 --parents assets/./css/*.css /p1/p2/\n" +
		"ADD --chown=1000:1000 " + srv.URL + "/page.html /u1/u2/\n" +
		"ADD --chown=1000:1000 bundle.tar.gz /t1/t2/\n" +
		"COPY --chown=1000:1000 --chmod=go-rx config.ini /s1/s2/\n" +
		"COPY --chmod=0700 config.ini /o1/o2/\n" +
		"COPY --chown=1000:1000 <<EOF /h1/h2/\nx\nEOF\n" +
		"USER 1000:1000\n" +
		"WORKDIR /w1/w2\n",
	})
	img, _ := buildImage(t, g, dir)
	hs, bodies := files(t, img)
	wantFile(t, hs, bodies, "/exist", 0o711, 4, 4, "")
	for _, d := range []string{"/exist/a", "/exist/a/b", "/exist/a/b/c", "/l1", "/l1/l2", "/d1", "/d1/d2", "/d1/d2/d3", "/p1", "/p1/p2",
		"/u1", "/u1/u2", "/t1", "/t1/t2", "/s1", "/s1/s2", "/h1", "/h1/h2", "/w1", "/w1/w2"} {
		wantFile(t, hs, bodies, d, 0o755, 1000, 1000, "")
	}
	wantFile(t, hs, bodies, "/exist/a/b/c/config.ini", 0o644, 1000, 1000, "[app]\nport=8080\n")
	wantFile(t, hs, bodies, "/p1/p2/css/a.css", 0o644, 1000, 1000, "body{}\n")
	wantFile(t, hs, bodies, "/u1/u2/page.html", 0o600, 1000, 1000, "page\n")
	wantFile(t, hs, bodies, "/t1/t2/bundle/README", 0o600, 1000, 1000, "bundle")
	wantFile(t, hs, bodies, "/s1/s2/config.ini", 0o600, 1000, 1000, "[app]\nport=8080\n")
	wantFile(t, hs, bodies, "/o1", 0o700, 0, 0, "")
	wantFile(t, hs, bodies, "/o1/o2", 0o700, 0, 0, "")
	wantFile(t, hs, bodies, "/o1/o2/config.ini", 0o700, 0, 0, "[app]\nport=8080\n")
}

// TestBuildHealthcheckStartInterval: HEALTHCHECK --start-interval is in
// the config (nanoseconds, as Docker writes it), survives a build FROM
// that image and shows in gorae inspect; a config without it is written
// as before.
func TestBuildHealthcheckStartInterval(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\n" +
		"HEALTHCHECK --interval=5s --start-period=3s --start-interval=2s CMD [\"/bin/true\"]\n"})
	g.Must(t, dir, "build", "-q", "-t", "hc-base", ".")
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM hc-base\nLABEL child=1\n"})
	img, _ := buildImage(t, g, dir)
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	const want = `"Healthcheck":{"Test":["CMD","/bin/true"],"Interval":5000000000,"StartPeriod":3000000000,"StartInterval":2000000000}`
	if !strings.Contains(string(raw), want) {
		t.Errorf("child config lacks %s:\n%s", want, raw)
	}
	var insp struct {
		Config struct {
			Config struct {
				Healthcheck map[string]any
			} `json:"config"`
		}
	}
	for _, ref := range []string{"hc-base", "built"} {
		if err := json.Unmarshal([]byte(g.Must(t, ".", "inspect", ref).Stdout), &insp); err != nil {
			t.Fatal(err)
		}
		if got := insp.Config.Config.Healthcheck["StartInterval"]; got != float64(2e9) {
			t.Errorf("gorae inspect %s: StartInterval %v, want 2000000000", ref, got)
		}
	}
	// A new HEALTHCHECK replaces the whole check, StartInterval included.
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM hc-base\nHEALTHCHECK CMD [\"/bin/false\"]\n"})
	img, _ = buildImage(t, g, dir)
	raw, _ = img.RawConfigFile()
	if !strings.Contains(string(raw), `"Healthcheck":{"Test":["CMD","/bin/false"]}`) {
		t.Errorf("replaced healthcheck:\n%s", raw)
	}
}

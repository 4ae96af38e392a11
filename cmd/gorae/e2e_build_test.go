package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/internal/testutil"
)

const fullDockerfile = `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS base
ENV APP_HOME=/srv/app
WORKDIR $APP_HOME

FROM base AS assets
COPY --chown=app:app assets/ ./assets/
COPY --chmod=640 config.ini /etc/app/

FROM base
ARG VERSION=1.0
LABEL version=$VERSION maintainer="dev@example.com"
COPY --from=assets /srv/app/assets ./assets
COPY --from=assets /etc/app/config.ini /etc/app/config.ini
ADD bundle.tar.gz /opt/
COPY --link --chmod=755 script.sh /usr/local/bin/
EXPOSE 8080/tcp 9090/udp
VOLUME ["/data"]
USER app
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/true"]
SHELL ["/bin/sh", "-e", "-c"]
ONBUILD COPY . /onbuild
ENTRYPOINT ["/usr/local/bin/script.sh"]
CMD ["--serve"]
`

func fullContext(t *testing.T) string {
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile":        fullDockerfile,
		"assets/index.html": "<h1>hi</h1>\n",
		"assets/css/a.css":  "body{}\n",
		"config.ini":        "[app]\nport=8080\n",
		"script.sh":         "#!/bin/sh\necho serving\n",
		"ignored.log":       "must not be copied\n",
		".dockerignore":     "*.log\n",
	})
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "bundle/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 7, Gid: 7})
	tw.WriteHeader(&tar.Header{Name: "bundle/README", Typeflag: tar.TypeReg, Mode: 0o600, Size: 6, Uid: 7, Gid: 7})
	tw.Write([]byte("bundle"))
	tw.Close()
	gz.Close()
	if err := os.WriteFile(filepath.Join(dir, "bundle.tar.gz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// files reads an image's final filesystem: path → header (and content).
func files(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string]string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	hs, bodies := map[string]*tar.Header{}, map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hs, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		n := "/" + strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		hs[n] = h
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			bodies[n] = string(b)
		}
	}
}

func TestBuildPushEveryInstruction(t *testing.T) {
	g := newGorae(t)
	reg := testutil.Registry(t)
	dir := fullContext(t)
	ref := reg + "/test/app:v1"
	r := g.Must(t, dir, "build", "--progress=plain", "-t", ref, "--push", "--build-arg", "VERSION=2.0", ".")
	for _, want := range []string{"WORKDIR /srv/app", "COPY --from=assets", "naming to " + ref} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("progress lacks %q:\n%s", want, r.Stderr)
		}
	}
	pref, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(pref)
	if err != nil {
		t.Fatalf("pull pushed image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if got := strings.Join(c.Entrypoint, " "); got != "/usr/local/bin/script.sh" {
		t.Errorf("Entrypoint = %q", got)
	}
	if got := strings.Join(c.Cmd, " "); got != "--serve" {
		t.Errorf("Cmd = %q", got)
	}
	if c.WorkingDir != "/srv/app" || c.User != "app" || c.StopSignal != "SIGTERM" {
		t.Errorf("WorkingDir %q User %q StopSignal %q", c.WorkingDir, c.User, c.StopSignal)
	}
	if c.Labels["version"] != "2.0" || c.Labels["maintainer"] != "dev@example.com" {
		t.Errorf("Labels = %v", c.Labels)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("ExposedPorts = %v", c.ExposedPorts)
	}
	if _, ok := c.ExposedPorts["9090/udp"]; !ok {
		t.Errorf("ExposedPorts = %v", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("Volumes = %v", c.Volumes)
	}
	if c.Healthcheck == nil || strings.Join(c.Healthcheck.Test, " ") != "CMD /bin/true" {
		t.Errorf("Healthcheck = %+v", c.Healthcheck)
	}
	if strings.Join(c.Shell, " ") != "/bin/sh -e -c" || strings.Join(c.OnBuild, "") != "COPY . /onbuild" {
		t.Errorf("Shell %v OnBuild %v", c.Shell, c.OnBuild)
	}
	if !containsEnv(c.Env, "APP_HOME=/srv/app") {
		t.Errorf("Env = %v", c.Env)
	}
	m, _ := img.Manifest()
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %s", m.MediaType)
	}
	if want := countNonEmpty(cf.History); want != len(m.Layers) {
		t.Errorf("history has %d non-empty entries for %d layers", want, len(m.Layers))
	}
	hs, bodies := files(t, img)
	check := func(p string, mode int64, uid int) {
		t.Helper()
		h, ok := hs[p]
		if !ok {
			t.Errorf("%s missing from the image", p)
			return
		}
		if h.Mode&0o7777 != mode || h.Uid != uid {
			t.Errorf("%s: mode %o uid %d, want %o %d", p, h.Mode&0o7777, h.Uid, mode, uid)
		}
	}
	check("/srv/app/assets/index.html", 0o644, 1000)
	check("/srv/app/assets/css/a.css", 0o644, 1000)
	check("/etc/app/config.ini", 0o640, 0)
	check("/usr/local/bin/script.sh", 0o755, 0)
	check("/opt/bundle/README", 0o600, 7)
	if bodies["/srv/app/assets/index.html"] != "<h1>hi</h1>\n" || bodies["/opt/bundle/README"] != "bundle" {
		t.Errorf("file contents wrong: %q %q", bodies["/srv/app/assets/index.html"], bodies["/opt/bundle/README"])
	}
	if _, ok := hs["/bin/busybox"]; !ok {
		t.Error("base image layer missing")
	}
	for p := range hs {
		if strings.HasSuffix(p, ".log") {
			t.Errorf("%s was copied although .dockerignore excludes it", p)
		}
	}
}

func containsEnv(env []string, kv string) bool {
	for _, e := range env {
		if e == kv {
			return true
		}
	}
	return false
}

func countNonEmpty(hs []v1.History) int {
	n := 0
	for _, h := range hs {
		if !h.EmptyLayer {
			n++
		}
	}
	return n
}

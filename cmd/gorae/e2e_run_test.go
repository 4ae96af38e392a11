package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("RUN needs root (namespace sandbox); CI runs as root")
	}
}

// TestRunSteps: apt-style multi-step RUNs on the busybox base, as a user
// writes them: files, users, env, workdir, cache mounts, heredocs.
func TestRunSteps(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox
ARG VERSION=1.2
ENV APP=/opt/app
WORKDIR $APP
RUN mkdir -p lib && echo "v$VERSION" > lib/version && chmod 0750 lib
RUN --mount=type=cache,target=/var/cache/pkgs echo fetched >> /var/cache/pkgs/log && cp /var/cache/pkgs/log ./fetch.log
RUN rm /bin/vi && echo 'worker:x:1234:1234::/home/worker:/bin/sh' >> /etc/passwd && mkdir -p /home/worker
USER worker
RUN id -u > /tmp/who && echo "$HOME" >> /tmp/who
RUN <<SCRIPT
#!/bin/sh
echo from-heredoc > /tmp/heredoc
SCRIPT
RUN true
`})
	out := filepath.Join(t.TempDir(), "rootfs")
	r := g.Must(t, dir, "build", "--progress=plain", "-t", "runs", "--output", "type=local,dest="+out, ".")
	checks := map[string]string{
		"opt/app/lib/version": "v1.2\n",
		"opt/app/fetch.log":   "fetched\n",
		"tmp/who":             "1234\n/home/worker\n",
		"tmp/heredoc":         "from-heredoc\n",
	}
	for p, want := range checks {
		if b, err := os.ReadFile(filepath.Join(out, p)); err != nil || string(b) != want {
			t.Errorf("/%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "opt/app/lib")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("/opt/app/lib mode: %v %v", fi, err)
	}
	if _, err := os.Lstat(filepath.Join(out, "bin/vi")); !os.IsNotExist(err) {
		t.Errorf("/bin/vi deleted by a RUN is still in the image: %v", err)
	}
	for _, p := range []string{"var/cache/pkgs", "etc/resolv.conf", "etc/hosts"} {
		if _, err := os.Lstat(filepath.Join(out, p)); err == nil {
			t.Errorf("/%s (a sandbox mount point) leaked into the image", p)
		}
	}
	if !strings.Contains(r.Stderr, "RUN true") {
		t.Errorf("progress lacks the RUN steps:\n%s", r.Stderr)
	}
	// The cache mount persists across builds, outside the image.
	g.Must(t, dir, "build", "--progress=plain", "--no-cache", "--output", "type=local,dest="+out, ".")
	if b, _ := os.ReadFile(filepath.Join(out, "opt/app/fetch.log")); string(b) != "fetched\nfetched\n" {
		t.Errorf("cache mount did not persist: %q", b)
	}
	// A warm rebuild runs nothing.
	r = g.Must(t, dir, "build", "--progress=plain", "-t", "runs", ".")
	if strings.Count(r.Stderr, " CACHED\n") < 6 {
		t.Errorf("warm rebuild re-ran RUN steps:\n%s", r.Stderr)
	}
}

// TestRunFailures: a failing RUN names the command, its exit code and its
// last output lines with the Dockerfile line; entitlements are enforced.
func TestRunFailures(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo about to fail && ls /nonexistent\n"})
	r := g.Run(t, dir, "build", "-t", "failing", ".")
	for _, want := range []string{"Dockerfile:2", "exit code 1", "about to fail", "/nonexistent"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("failure message lacks %q:\n%s", want, r.Stderr)
		}
	}
	if r.Code != 1 {
		t.Errorf("exit code %d, want 1", r.Code)
	}
	if r := g.Must(t, dir, "images"); strings.Contains(r.Stdout, "failing") {
		t.Errorf("failed RUN left an image:\n%s", r.Stdout)
	}
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN --network=host true\n"})
	if r := g.Run(t, dir, "build", "."); r.Code != 1 || !strings.Contains(r.Stderr, "--allow network.host") {
		t.Errorf("--network=host without --allow: exit %d\n%s", r.Code, r.Stderr)
	}
	g.Must(t, dir, "build", "--allow", "network.host", ".")
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN --network=none cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' > /ifaces\n"})
	out := filepath.Join(t.TempDir(), "o")
	g.Must(t, dir, "build", "--output", "type=local,dest="+out, ".")
	if b, _ := os.ReadFile(filepath.Join(out, "ifaces")); string(b) != "lo\n" {
		t.Errorf("--network=none interfaces = %q, want only lo", b)
	}
	left, _ := os.ReadDir(filepath.Join(g.Root, "snapshots", "active"))
	if len(left) != 0 {
		t.Errorf("active snapshots left behind: %d", len(left))
	}
}

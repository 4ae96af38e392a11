package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// readOut reads a file of a type=local output.
func readOut(t *testing.T, out, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, p))
	if err != nil {
		t.Fatalf("read /%s of the output: %v", p, err)
	}
	return string(b)
}

// TestBuildSandboxFlags: --add-host, --shm-size and --ulimit reach every
// RUN and its cache key, as in BuildKit's ExecOp.
func TestBuildSandboxFlags(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox
RUN cat /etc/hosts > /hosts
RUN df -k /dev/shm | tail -1 | awk '{print $2}' > /shm && ulimit -n > /nofile && ulimit -Hn >> /nofile
`})
	out := filepath.Join(t.TempDir(), "out")
	build := func(args ...string) testutil.Result {
		return g.Must(t, dir, append(append([]string{"build", "--progress=plain", "--output", "type=local,dest=" + out}, args...), ".")...)
	}
	build("--add-host", "db:10.0.0.5", "--add-host", "Cache=10.0.0.6", "--add-host", "gw:host-gateway",
		"--add-host", "v6:[::1]", "--shm-size", "128m", "--ulimit", "nofile=1024:2048")
	wantHosts := "127.0.0.1\tlocalhost gorae\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.5\tdb\n10.0.0.6\tcache\n127.0.0.1\tgw\n::1\tv6\n"
	if got := readOut(t, out, "hosts"); got != wantHosts {
		t.Errorf("/etc/hosts in RUN =\n%s\nwant\n%s", got, wantHosts)
	}
	if got := readOut(t, out, "shm"); got != "131072\n" {
		t.Errorf("/dev/shm with --shm-size 128m has %q KiB, want 131072", got)
	}
	if got := readOut(t, out, "nofile"); got != "1024\n2048\n" {
		t.Errorf("ulimit -n, -Hn with --ulimit nofile=1024:2048 = %q", got)
	}
	for _, p := range []string{"etc/hosts", "dev/shm"} {
		if _, err := os.Lstat(filepath.Join(out, p)); err == nil {
			t.Errorf("/%s (a sandbox mount) leaked into the image", p)
		}
	}
	// The defaults: the host's /etc/hosts, 64 MiB of /dev/shm, gorae's
	// own limits. Each flag is part of the RUN's key: nothing is CACHED.
	r := build()
	if cachedRuns(r.Stderr) != 0 {
		t.Errorf("a build without the flags reused their steps:\n%s", r.Stderr)
	}
	host, _ := os.ReadFile("/etc/hosts")
	if got := readOut(t, out, "hosts"); got != string(host) {
		t.Errorf("/etc/hosts without --add-host = %q, want the host's %q", got, host)
	}
	if got := readOut(t, out, "shm"); got != "65536\n" {
		t.Errorf("default /dev/shm has %q KiB, want 65536", got)
	}
	r = build("--add-host", "db:10.0.0.5")
	if cachedRuns(r.Stderr) != 0 {
		t.Errorf("a new --add-host reused the first RUN:\n%s", r.Stderr)
	}
	r = build("--add-host", "db:10.0.0.5")
	if cachedRuns(r.Stderr) != 2 {
		t.Errorf("the same --add-host again did not hit the cache:\n%s", r.Stderr)
	}
	r = build("--add-host", "db:10.0.0.7")
	if !strings.Contains(readOut(t, out, "hosts"), "10.0.0.7\tdb\n") || cachedRuns(r.Stderr) != 0 {
		t.Errorf("a changed --add-host IP was not run again:\n%s", r.Stderr)
	}
}

// TestBuildNetworkFlag: --network is the default of every RUN; RUN
// --network overrides it; --network host needs no --allow, as in buildx.
func TestBuildNetworkFlag(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile":      "FROM busybox\nRUN ls /sys/class/net > /nets\nRUN --network=default ls /sys/class/net > /nets-default\n",
		"host.Dockerfile": "FROM busybox\nRUN --network=host ls /sys/class/net > /nets\n",
	})
	out := filepath.Join(t.TempDir(), "out")
	g.Must(t, dir, "build", "--network", "none", "--output", "type=local,dest="+out, ".")
	if got := readOut(t, out, "nets"); got != "lo\n" {
		t.Errorf("RUN with --network none sees interfaces %q, want only lo", got)
	}
	if got := readOut(t, out, "nets-default"); got != "lo\n" {
		t.Errorf("RUN --network=default with --network none sees %q, want only lo", got)
	}
	g.Must(t, dir, "build", "--network", "host", "--output", "type=local,dest="+out, ".")
	if got := readOut(t, out, "nets"); !strings.Contains(got, "lo\n") || got == "lo\n" {
		t.Errorf("RUN with --network host sees %q, want the host's interfaces", got)
	}
	r := g.Run(t, dir, "build", "--network", "none", "-f", filepath.Join(dir, "host.Dockerfile"), ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "host.Dockerfile:2: RUN --network=host needs --allow network.host") {
		t.Errorf("RUN --network=host without the entitlement: exit %d\n%s", r.Code, r.Stderr)
	}
	g.Must(t, dir, "build", "--network", "host", "-f", filepath.Join(dir, "host.Dockerfile"), ".")
}

// TestBuildFlagErrors: each bad value of the new flags is one usage
// error (exit 2) naming the flag, before any work.
func TestBuildFlagErrors(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN true\n"})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--network", "bridge"}, `invalid --network "bridge": use default, none or host`},
		{[]string{"--add-host", "db"}, `invalid --add-host "db": use HOST:IP or HOST=IP`},
		{[]string{"--add-host", "db:10.0.0.300"}, `invalid --add-host "db:10.0.0.300": "10.0.0.300" is not an IP address`},
		{[]string{"--shm-size", "lots"}, `invalid --shm-size "lots": use a size such as 128m`},
		{[]string{"--ulimit", "files=1"}, `--ulimit: invalid ulimit type "files": use one of core, cpu,`},
		{[]string{"--ulimit", "nofile=2048:1024"}, `the soft limit must be less than or equal to the hard limit`},
		{[]string{"--annotation", "novalue"}, `--annotation: invalid annotation "novalue", expected key=value`},
		{[]string{"--annotation", "layer:k=v"}, `unknown annotation type "layer"`},
		{[]string{"--annotation", "index:k=v"}, `invalid --annotation: index:k: gorae builds a single-platform image manifest, with no index or descriptor`},
		{[]string{"--annotation", "manifest[linux/s390x]:k=v"}, `invalid --annotation: no platform linux/s390x found in source`},
		{[]string{"--call", "nope"}, `invalid --call "nope": use build, check, outline or targets`},
		{[]string{"--isolation", "chroot", "--add-host", "a:1.2.3.4"}, `--add-host needs namespaces`},
		{[]string{"--isolation", "chroot", "--shm-size", "1g"}, `--shm-size needs namespaces`},
		{[]string{"--output", "type=registry"}, `a push needs a name: add name=REGISTRY/REPO:TAG or -t`},
		{[]string{"--output", "type=image,name=a,push=maybe"}, `invalid --output "type=image,name=a,push=maybe": push="maybe" is not true or false`},
		{[]string{"--output", "type=bogus"}, `invalid --output "type=bogus": unknown type "bogus"`},
		{[]string{"--output", "type=image,name=UP"}, `invalid --output "type=image,name=UP": name UP: invalid image name`},
		{[]string{"--push"}, `--push needs at least one name`},
		{[]string{"--compression", "lzma"}, `invalid --compression: unknown compression "lzma"`},
		{[]string{"--platform", "linux//amd64"}, `invalid --platform "linux//amd64": use os/arch`},
	} {
		r := g.Run(t, dir, append(append([]string{"build"}, tc.args...), ".")...)
		if r.Code != 2 {
			t.Errorf("build %s: exit %d, want 2\n%s", strings.Join(tc.args, " "), r.Code, r.Stderr)
		}
		if !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("build %s: stderr lacks %q:\n%s", strings.Join(tc.args, " "), tc.want, r.Stderr)
		}
	}
	// --load is accepted: the image is stored anyway.
	g.Must(t, dir, "build", "--load", "-t", "loaded", ".")
	if r := g.Must(t, dir, "images"); !strings.Contains(r.Stdout, "loaded") {
		t.Errorf("--load -t loaded: images lacks it:\n%s", r.Stdout)
	}
}

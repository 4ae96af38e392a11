package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// TestRootlessGroupsAndSandboxFlags: without root, USER's supplementary
// groups, --add-host, --shm-size and a lowered --ulimit work as with
// root; raising a hard limit is one clear error.
func TestRootlessGroupsAndSandboxFlags(t *testing.T) {
	g, u := rootlessGorae(t)
	dir := u.Dir(t, "ctx")
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox
RUN printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n' > /etc/passwd && \
    printf 'root:x:0:\nwheel:x:10:app\napp:x:1001:\naudio:x:63:\n' > /etc/group
USER app
RUN id > /tmp/id && cat /etc/hosts > /tmp/hosts && df -k /dev/shm | tail -1 | awk '{print $2}' > /tmp/shm && ulimit -n > /tmp/nofile
`})
	u.Chown(t, dir)
	out := filepath.Join(u.Home, "out")
	g.Must(t, dir, "build", "-t", "rlflags", "--add-host", "db:10.0.0.5", "--shm-size", "32m", "--ulimit", "nofile=512:1024",
		"--output", "type=local,dest="+out, ".")
	for p, want := range map[string]string{
		"tmp/id":     "uid=1000(app) gid=1001(app) groups=10(wheel),1001(app)\n",
		"tmp/shm":    "32768\n",
		"tmp/nofile": "512\n",
	} {
		if b, err := os.ReadFile(filepath.Join(out, p)); err != nil || string(b) != want {
			t.Errorf("/%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "tmp/hosts")); !strings.Contains(string(b), "10.0.0.5\tdb\n") {
		t.Errorf("/etc/hosts in a rootless RUN = %q", b)
	}
	r := g.Must(t, dir, "run", "--rm", "--group-add", "audio", "rlflags", "id")
	if r.Stdout != "uid=1000(app) gid=1001(app) groups=10(wheel),63(audio),1001(app)\n" {
		t.Errorf("rootless gorae run --group-add audio: %q", r.Stdout)
	}
	r = g.Run(t, dir, "build", "--no-cache", "--ulimit", "nofile=1024:4294967296", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "set ulimit nofile=1024:4294967296") || !strings.Contains(r.Stderr, "cannot be raised above gorae's own") {
		t.Errorf("raising the hard limit without root: exit %d\n%s", r.Code, r.Stderr)
	}
}

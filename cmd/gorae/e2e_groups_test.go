package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// TestUserGroups: USER name gives RUN and gorae run the supplementary
// groups /etc/group lists for the user, as BuildKit and docker run do; an
// explicit group gives none; --group-add adds more.
func TestUserGroups(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox
RUN printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n' > /etc/passwd && \
    printf 'root:x:0:root\nwheel:x:10:root,app\napp:x:1001:\nstaff:x:50:svc,app\naudio:x:63:svc\n' > /etc/group
RUN id > /root-id
USER app
RUN id > /tmp/app-id
USER app:audio
RUN id > /tmp/explicit-id
USER 1000
RUN id > /tmp/uid-id
`})
	// The kernel keeps the groups sorted: id lists them in that order.
	out := filepath.Join(t.TempDir(), "rootfs")
	g.Must(t, dir, "build", "--progress=plain", "-t", "groups", "--output", "type=local,dest="+out, ".")
	for p, want := range map[string]string{
		"root-id":         "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n",
		"tmp/app-id":      "uid=1000(app) gid=1001(app) groups=10(wheel),50(staff),1001(app)\n",
		"tmp/explicit-id": "uid=1000(app) gid=63(audio) groups=63(audio)\n",
		"tmp/uid-id":      "uid=1000(app) gid=1001(app) groups=10(wheel),50(staff),1001(app)\n",
	} {
		if b, err := os.ReadFile(filepath.Join(out, p)); err != nil || string(b) != want {
			t.Errorf("RUN id (/%s) = %q, %v; want %q", p, b, err, want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"groups", "id"}, "uid=1000(app) gid=1001(app) groups=10(wheel),50(staff),1001(app)\n"},
		{[]string{"-u", "root", "groups", "id"}, "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n"},
		{[]string{"-u", "app:staff", "groups", "id"}, "uid=1000(app) gid=50(staff) groups=50(staff)\n"},
		{[]string{"--group-add", "audio", "--group-add", "4242", "--group-add", "staff", "groups", "id"}, "uid=1000(app) gid=1001(app) groups=10(wheel),50(staff),63(audio),1001(app),4242\n"},
	} {
		r := g.Run(t, dir, append([]string{"run", "--rm"}, tc.args...)...)
		if r.Code != 0 || r.Stdout != tc.want {
			t.Errorf("gorae run %s: exit %d, %q (stderr %q); want %q", strings.Join(tc.args, " "), r.Code, r.Stdout, r.Stderr, tc.want)
		}
	}
	r := g.Run(t, dir, "run", "--rm", "--group-add", "nosuch", "groups", "id")
	if r.Code != 125 || !strings.Contains(r.Stderr, "--group-add: unable to find group nosuch") {
		t.Errorf("unknown --group-add: exit %d, stderr %q; want 125 naming the group", r.Code, r.Stderr)
	}
}

// TestRunLimits: gorae run takes docker run's --add-host, --ulimit and
// --shm-size.
func TestRunLimits(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	r := g.Run(t, ".", "run", "--rm", "--add-host", "db:10.0.0.5", "--ulimit", "nofile=256:512", "--shm-size", "16m", "-h", "box",
		"busybox", "sh", "-c", "cat /etc/hosts; ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1 | awk '{print $2}'")
	want := "127.0.0.1\tlocalhost box\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.5\tdb\n256\n512\n16384\n"
	if r.Code != 0 || r.Stdout != want {
		t.Errorf("gorae run with limits: exit %d, %q (stderr %q); want %q", r.Code, r.Stdout, r.Stderr, want)
	}
	for _, args := range [][]string{{"--add-host", "db"}, {"--ulimit", "nofile=x"}, {"--shm-size", "big"}} {
		r := g.Run(t, ".", append(append([]string{"run", "--rm"}, args...), "busybox", "true")...)
		if r.Code != 125 || !strings.Contains(r.Stderr, args[0]) {
			t.Errorf("gorae run %s: exit %d, stderr %q; want 125 naming the flag", strings.Join(args, " "), r.Code, r.Stderr)
		}
	}
}

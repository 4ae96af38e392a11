package runner_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gorae/gorae/runner"
)

func TestExtraHostsAndUlimits(t *testing.T) {
	root := newRootfs(t)
	res := run(t, runner.Process{
		Rootfs: root, Args: []string{"sh", "-c", "cat /etc/hosts; ulimit -n; ulimit -Hn; ulimit -c; echo x >> /etc/hosts"},
		ExtraHosts: []runner.HostIP{{Host: "db", IP: "10.0.0.5"}, {Host: "v6", IP: "::1"}},
		Ulimits:    []runner.Ulimit{{Name: "nofile", Soft: 512, Hard: 1024}, {Name: "core", Soft: -1, Hard: -1}},
		Hostname:   "box",
	})
	want := "127.0.0.1\tlocalhost box\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.5\tdb\n::1\tv6\n512\n1024\nunlimited\n"
	if res.stdout != want {
		t.Errorf("stdout %q, want %q (stderr %q)", res.stdout, want, res.stderr)
	}
	if !strings.Contains(res.stderr, "Read-only file system") {
		t.Errorf("/etc/hosts writable: %q, %v", res.stderr, res.err)
	}
	if ents, _ := os.ReadDir(os.Getenv("TMPDIR")); len(ents) > 0 {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "gorae-hosts-") {
				t.Errorf("hosts file %s left behind", e.Name())
			}
		}
	}
	res = run(t, runner.Process{Rootfs: root, Args: []string{"true"}, ExtraHosts: []runner.HostIP{{Host: "db", IP: "nope"}}})
	if res.err == nil || !strings.Contains(res.err.Error(), `invalid extra host "db"="nope"`) {
		t.Errorf("bad IP: %v", res.err)
	}
	res = run(t, runner.Process{Rootfs: root, Args: []string{"true"}, Isolation: runner.IsolationChroot, ExtraHosts: []runner.HostIP{{Host: "db", IP: "10.0.0.5"}}})
	if res.err == nil || !strings.Contains(res.err.Error(), "--add-host needs namespaces") {
		t.Errorf("chroot with extra hosts: %v", res.err)
	}
}

func TestParseUlimit(t *testing.T) {
	for in, want := range map[string]runner.Ulimit{
		"nofile=1024:2048": {Name: "nofile", Soft: 1024, Hard: 2048},
		"nproc=100":        {Name: "nproc", Soft: 100, Hard: 100},
		"core=-1":          {Name: "core", Soft: -1, Hard: -1},
		"stack=1024:-1":    {Name: "stack", Soft: 1024, Hard: -1},
	} {
		if got, err := runner.ParseUlimit(in); err != nil || got != want {
			t.Errorf("ParseUlimit(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"nofile":           "use NAME=SOFT[:HARD]",
		"files=1":          `invalid ulimit type "files"`,
		"nofile=a":         `"a" is not a number`,
		"nofile=1:2:3":     "too many values",
		"nofile=2048:1024": "the soft limit must be less than or equal to the hard limit",
		"nofile=-1:10":     "the soft limit must be less than or equal to the hard limit",
		"nofile=-5":        "limits are numbers >= 0, or -1 for unlimited",
	} {
		if _, err := runner.ParseUlimit(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseUlimit(%q) error %v, want %q", in, err, msg)
		}
	}
	if s := (runner.Ulimit{Name: "nofile", Soft: 1, Hard: 2}).String(); s != "nofile=1:2" {
		t.Errorf("String() = %q", s)
	}
}

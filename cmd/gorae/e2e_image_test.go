package main

import (
	"archive/tar"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// goraeImage builds gorae's own image (deploy/image, as make image does)
// with g and returns its name.
func goraeImage(t *testing.T, g *testutil.Gorae) string {
	t.Helper()
	ctx := filepath.Join(t.TempDir(), "image")
	cmd := exec.Command("bash", filepath.Join(testutil.RepoRoot(t), "deploy", "image", "context.sh"), ctx, goraeBin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy/image/context.sh: %v\n%s", err, out)
	}
	g.Must(t, ctx, "build", "-q", "-t", "gorae-img", ".")
	return "gorae-img"
}

// TestGoraeImage: gorae's own image holds what each way of running it
// needs (setuid newuidmap/newgidmap that run, CA certificates, a shell,
// the gorae user and its subordinate ids) and runs as root and rootless.
func TestGoraeImage(t *testing.T) {
	g := newGorae(t)
	img := goraeImage(t, g)
	var insp struct {
		Config struct {
			Config struct {
				Entrypoint, Env []string
				User            string
			} `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(g.Must(t, ".", "inspect", img).Stdout), &insp); err != nil {
		t.Fatal(err)
	}
	if c := insp.Config.Config; len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/usr/local/bin/gorae" || c.User != "" {
		t.Errorf("config %+v", c)
	}
	if r := g.Must(t, ".", "run", "--rm", img, "version"); !strings.HasPrefix(r.Stdout, "gorae ") {
		t.Errorf("gorae version in the image: %q", r.Stdout)
	}
	// The helpers find their libraries: they print their usage.
	for _, h := range []string{"/usr/bin/newuidmap", "/usr/bin/newgidmap"} {
		r := g.Run(t, ".", "run", "--rm", "--entrypoint", h, img)
		if r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, "usage: "+filepath.Base(h)) {
			t.Errorf("%s in the image: exit %d\n%s%s", h, r.Code, r.Stdout, r.Stderr)
		}
	}
	out := filepath.Join(t.TempDir(), "rootfs")
	from := t.TempDir()
	testutil.WriteFiles(t, from, map[string]string{"Dockerfile": "FROM " + img + "\n"})
	g.Must(t, from, "build", "-q", "--output", "type=local,dest="+out, ".")
	for name, want := range map[string]struct {
		mode     os.FileMode
		uid, gid uint32
	}{
		"usr/bin/newuidmap": {0o755, 0, 0}, "usr/bin/newgidmap": {0o755, 0, 0},
		"usr/local/bin/gorae": {0o755, 0, 0}, "home/gorae": {os.ModeDir | 0o755, 1000, 1000},
		"tmp": {os.ModeDir | os.ModeSticky | 0o777, 0, 0}, "etc/ssl/certs/ca-certificates.crt": {0o644, 0, 0},
	} {
		fi, err := os.Lstat(filepath.Join(out, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode() & (os.ModeType | os.ModePerm | os.ModeSetuid | os.ModeSticky)
		if mode != want.mode || st.Uid != want.uid || st.Gid != want.gid {
			t.Errorf("%s: %v %d:%d, want %v %d:%d", name, mode, st.Uid, st.Gid, want.mode, want.uid, want.gid)
		}
	}
	// The helpers carry file capabilities (they run where a pod keeps
	// only SETUID and SETGID): the image's tar says so.
	tarOut := filepath.Join(t.TempDir(), "rootfs.tar")
	g.Must(t, from, "build", "-q", "--output", "type=tar,dest="+tarOut, ".")
	caps := map[string]byte{"usr/bin/newuidmap": 1 << 7, "usr/bin/newgidmap": 1 << 6} // CAP_SETUID, CAP_SETGID
	f, err := os.Open(tarOut)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for tr := tar.NewReader(f); ; {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if bit, ok := caps[h.Name]; ok {
			v := h.PAXRecords["SCHILY.xattr.security.capability"]
			if len(v) < 5 || v[4]&bit == 0 {
				t.Errorf("%s has no file capability %#x: %q", h.Name, bit, v)
			}
			delete(caps, h.Name)
		}
	}
	if len(caps) > 0 {
		t.Errorf("not in the image: %v", caps)
	}
	for name, want := range map[string]string{"etc/subuid": "gorae:100000:65536\n", "etc/subgid": "gorae:100000:65536\n"} {
		if b, _ := os.ReadFile(filepath.Join(out, name)); string(b) != want {
			t.Errorf("%s = %q, want %q", name, b, want)
		}
	}
	if !strings.Contains(mustRead(t, filepath.Join(out, "etc/passwd")), "gorae:x:1000:1000:gorae:/home/gorae:/bin/sh") {
		t.Error("no gorae user in /etc/passwd")
	}

	// Rootless too.
	rl, u := rootlessGorae(t)
	tar := filepath.Join(u.Home, "gorae-img.tar")
	g.Must(t, ".", "save", "-o", tar, img)
	u.Chown(t, tar)
	rl.Must(t, u.Home, "load", "-i", tar)
	if r := rl.Must(t, u.Home, "run", "--rm", img, "version"); !strings.HasPrefix(r.Stdout, "gorae ") {
		t.Errorf("gorae version in the image, rootless: %q", r.Stdout)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

package main

import (
	"archive/tar"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorae/gorae/internal/testutil"
)

// rootlessGorae is gorae run by a fresh unprivileged user, with its
// default root (~/.local/share/gorae) and the busybox base imported.
func rootlessGorae(t *testing.T) (*testutil.Gorae, *testutil.User) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test (runs the gorae binary)")
	}
	u := testutil.NewUser(t)
	g := &testutil.Gorae{Bin: u.Install(t, goraeBin), User: u}
	tar := filepath.Join(u.Dir(t, "base"), "busybox.tar")
	if err := os.Rename(testutil.BusyboxTar(t), tar); err != nil {
		t.Fatal(err)
	}
	u.Chown(t, tar)
	r := g.Must(t, u.Home, "import", "-c", `CMD ["sh"]`, tar, "busybox")
	if !strings.Contains(r.Stderr, "rootless: RUN steps use overlayfs snapshots with user xattrs in this root") {
		t.Errorf("a new rootless root does not say how it makes snapshots:\n%s", r.Stderr)
	}
	return g, u
}

// rootlessDockerfile exercises what rootless must get right: owners other
// than root (a new user, chown, a file of the last mapped id), setuid,
// hard links, a fifo, a whiteout and an opaque directory.
const rootlessDockerfile = `FROM busybox
RUN echo 'bob:x:2000:2000::/home/bob:/bin/sh' >> /etc/passwd && echo 'bob:x:2000:' >> /etc/group && \
    mkdir -p /home/bob /data/x /o && chown bob:bob /home/bob && echo hi > /data/x/f && ln /data/x/f /data/x/hard && \
    chown -R bob:bob /data && cp /bin/busybox /data/suid && chown 0:2000 /data/suid && chmod 4750 /data/suid && \
    touch /o/a /o/b && mkfifo /data/fifo
RUN rm -rf /data/x && mkdir /data/x && touch /data/x/new && chown 65536:65536 /data/x/new && rm /o/a
COPY --chown=2000:2000 note.txt /home/bob/
USER bob
RUN id -u > /home/bob/uid && stat -c '%u:%g %a' /data/suid > /home/bob/suid
`

// TestRootlessBuildAndRun: a user without any privilege builds with RUN
// (chown, setuid, whiteouts) and runs the image; the image records
// in-image owners, the root is ~/.local/share/gorae, the output files
// are the user's, and --network=none has only lo.
func TestRootlessBuildAndRun(t *testing.T) {
	g, u := rootlessGorae(t)
	dir := u.Dir(t, "ctx")
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": rootlessDockerfile, "note.txt": "note\n"})
	u.Chown(t, dir)
	out := filepath.Join(u.Home, "out")
	r := g.Must(t, dir, "build", "--progress=plain", "-t", "rl", "--output", "type=local,dest="+out, ".")
	if strings.Contains(r.Stderr, "WARNING") || strings.Contains(r.Stderr, "rootless:") {
		t.Errorf("warnings with a subordinate id range:\n%s", r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(u.Home, ".local", "share", "gorae", "mode.json")); err != nil {
		t.Errorf("the rootless root is not ~/.local/share/gorae: %v", err)
	}
	for name, want := range map[string]string{"home/bob/uid": "2000\n", "home/bob/suid": "0:2000 4750\n", "home/bob/note.txt": "note\n"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
		if fi, err := os.Lstat(filepath.Join(out, name)); err == nil && fi.Sys().(*syscall.Stat_t).Uid != uint32(u.UID) {
			t.Errorf("output file %s is not the user's (uid %d)", name, fi.Sys().(*syscall.Stat_t).Uid)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "o", "a")); err == nil {
		t.Error("a file the RUN removed is in the output")
	}
	if ents, _ := os.ReadDir(filepath.Join(out, "data", "x")); len(ents) != 1 || ents[0].Name() != "new" {
		t.Errorf("the replaced directory holds %v, want only new", ents)
	}
	run := g.Must(t, dir, "run", "--rm", "rl", "sh", "-c", "id -u; stat -c '%u:%g %a' /data/suid /data/x/new /home/bob; ls /proc/1/root >/dev/null && echo own-proc")
	want := "2000\n0:2000 4750\n65536:65536 644\n2000:2000 755\nown-proc\n"
	if run.Stdout != want {
		t.Errorf("gorae run sees:\n%s\nwant:\n%s", run.Stdout, want)
	}
	none := g.Must(t, dir, "run", "--rm", "--network=none", "-u", "0", "rl", "sh", "-c", "ls /sys/class/net")
	if strings.TrimSpace(none.Stdout) != "lo" {
		t.Errorf("--network=none interfaces: %q, want lo", none.Stdout)
	}
}

// TestRootlessSameImage: the same Dockerfile gives the same image digest
// built as root and rootless (with SOURCE_DATE_EPOCH), layer for layer.
func TestRootlessSameImage(t *testing.T) {
	g, u := rootlessGorae(t)
	dir := u.Dir(t, "ctx")
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": rootlessDockerfile, "note.txt": "note\n"})
	u.Chown(t, dir)
	base := filepath.Join(u.Home, "base.tar")
	g.Must(t, dir, "save", "-o", base, "busybox")
	rootful := &testutil.Gorae{Bin: goraeBin, Root: t.TempDir(), Env: []string{"SOURCE_DATE_EPOCH=1700000000"}}
	rootful.Must(t, dir, "load", "-i", base)
	g.Env = []string{"SOURCE_DATE_EPOCH=1700000000"}
	a := rootful.Must(t, dir, "build", "-q", "-t", "same", ".")
	b := g.Must(t, dir, "build", "-q", "-t", "same", ".")
	if a.Stdout != b.Stdout || a.Stdout == "" {
		t.Fatalf("image digest as root %q, rootless %q", a.Stdout, b.Stdout)
	}
}

// TestRootlessFallbacks provokes each thing a rootless gorae needs and
// checks that it says what is missing and how to fix it. Without
// subordinate ids only root is mapped: a base whose files are all root's
// builds, with a warning; a file of another user fails, naming the file,
// the id and /etc/subuid.
func TestRootlessFallbacks(t *testing.T) {
	g, u := rootlessGorae(t)
	dir := u.Dir(t, "ctx")
	rootbox := filepath.Join(dir, "rootbox.tar")
	rootOwnedTar(t, testutil.BusyboxTar(t), rootbox)
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile":       "FROM rootbox\nRUN echo ok > /ok\n",
		"chown.Dockerfile": "FROM rootbox\nRUN touch /f && chown 1000 /f\n",
		"app.Dockerfile":   "FROM busybox\nRUN echo ok > /ok\n",
	})
	u.Chown(t, dir)
	// Each case has a root of its own: a root remembers its id mapping.
	single := func(t *testing.T, g testutil.Gorae, name string, env ...string) (*testutil.Gorae, string) {
		g.Root, g.Env = u.Dir(t, "root-"+name), env
		g.Must(t, dir, "import", rootbox, "rootbox")
		return &g, "rootless with only your own user mapped"
	}

	t.Run("no newuidmap", func(t *testing.T) {
		g, warned := single(t, *g, "nohelper", "PATH="+u.Dir(t, "empty"))
		r := g.Must(t, dir, "build", "--progress=plain", ".")
		if !strings.Contains(r.Stderr, warned) || !strings.Contains(r.Stderr, "newuidmap and newgidmap are not installed (install the uidmap package") {
			t.Errorf("no warning naming newuidmap:\n%s", r.Stderr)
		}
		r = g.Run(t, dir, "build", "--progress=plain", "-f", "chown.Dockerfile", ".")
		if r.Code != 1 || !strings.Contains(r.Stderr, "chown to any other user fails") || !strings.Contains(r.Stderr, "/etc/subuid") {
			t.Errorf("a RUN chown with only root mapped: exit %d\n%s", r.Code, r.Stderr)
		}
		g.Must(t, dir, "import", filepath.Join(u.Home, "base", "busybox.tar"), "busybox")
		r = g.Run(t, dir, "build", "--progress=plain", "-f", "app.Dockerfile", ".")
		if r.Code != 1 || !strings.Contains(r.Stderr, `layer entry "home/app/": set owner 1000:1000: the id is not mapped`) || !strings.Contains(r.Stderr, "/etc/subuid") {
			t.Errorf("a base with another user's files, only root mapped: exit %d\n%s", r.Code, r.Stderr)
		}
		// The root remembers the mapping it was made with.
		g.Env = nil
		r = g.Run(t, dir, "images")
		if r.Code != 1 || !strings.Contains(r.Stderr, "was made rootless with the id mapping") {
			t.Errorf("a root made with another mapping: exit %d\n%s", r.Code, r.Stderr)
		}
	})

	t.Run("no_new_privs", func(t *testing.T) {
		g, warned := single(t, *g, "nnp")
		g.Bin = "/usr/bin/setpriv"
		g.Root = u.Dir(t, "root-nnp2") // the root above was made with subordinate ids
		g.Must(t, dir, "--no-new-privs", goraeBinOf(u), "import", rootbox, "rootbox")
		r := g.Must(t, dir, "--no-new-privs", goraeBinOf(u), "build", "--progress=plain", ".")
		if !strings.Contains(r.Stderr, warned) || !strings.Contains(r.Stderr, "no_new_privs is set") || !strings.Contains(r.Stderr, "allowPrivilegeEscalation") {
			t.Errorf("no warning naming no_new_privs:\n%s", r.Stderr)
		}
	})

	t.Run("no subordinate ids", func(t *testing.T) {
		restore := withoutSubIDs(t, u.Name)
		defer restore()
		g, warned := single(t, *g, "nosubids")
		r := g.Must(t, dir, "build", "--progress=plain", ".")
		if !strings.Contains(r.Stderr, warned) || !strings.Contains(r.Stderr, "has no range in /etc/subuid and /etc/subgid (as root: usermod --add-subuids") {
			t.Errorf("no warning naming /etc/subuid:\n%s", r.Stderr)
		}
	})

	t.Run("masked proc", func(t *testing.T) {
		// A container runtime's masked /proc, reproduced in a mount
		// namespace of the test's own.
		script := "mount --bind /dev/null /proc/keys && exec setpriv --reuid=" + strconv.Itoa(u.UID) + " --regid=" + strconv.Itoa(u.GID) +
			" --clear-groups env HOME=" + u.Home + " PATH=/usr/bin:/bin " + goraeBinOf(u) + " build --progress=plain -f app.Dockerfile ."
		cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("build under a masked /proc: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "/proc could not be mounted (the container runtime masks parts of it)") {
			t.Errorf("no warning about the masked /proc:\n%s", out)
		}
	})

	t.Run("overlay refused", func(t *testing.T) {
		// A root on overlayfs (a container's own file system): no overlay
		// over it, and whiteouts only in their xattr form.
		ov := u.Dir(t, "ov")
		for _, d := range []string{"l", "u", "w", "m"} {
			os.MkdirAll(filepath.Join(ov, d), 0o755)
		}
		m := filepath.Join(ov, "m")
		if out, err := exec.Command("mount", "-t", "overlay", "overlay", "-o", "lowerdir="+ov+"/l,upperdir="+ov+"/u,workdir="+ov+"/w", m).CombinedOutput(); err != nil {
			t.Skipf("mount overlay: %v %s", err, out)
		}
		defer exec.Command("umount", "-l", m).Run()
		g := *g
		g.Root = filepath.Join(m, "root")
		os.Mkdir(g.Root, 0o755)
		u.Chown(t, g.Root)
		r := g.Must(t, dir, "import", rootbox, "rootbox")
		if !strings.Contains(r.Stderr, "rootless: overlayfs cannot be mounted in a user namespace here") || !strings.Contains(r.Stderr, "copy their snapshots") {
			t.Errorf("no notice that snapshots are copies:\n%s", r.Stderr)
		}
		g.Must(t, dir, "build", "--progress=plain", ".")
		testutil.WriteFiles(t, dir, map[string]string{"rm.Dockerfile": "FROM rootbox\nRUN rm /etc/group && mkdir -p /d/x && touch /d/x/a\n" +
			"RUN test ! -e /etc/group && rm -rf /d/x && mkdir /d/x && touch /d/x/b\nRUN ls /d/x > /ls\n"})
		u.Chown(t, dir)
		out := filepath.Join(u.Home, "ovout")
		g.Must(t, dir, "build", "--progress=plain", "-f", "rm.Dockerfile", "--output", "type=local,dest="+out, ".")
		if _, err := os.Stat(filepath.Join(out, "etc/group")); err == nil {
			t.Error("a removed file is back")
		}
		if b, _ := os.ReadFile(filepath.Join(out, "ls")); string(b) != "b\n" {
			t.Errorf("a replaced directory lists %q, want b", b)
		}
	})

	t.Run("user namespaces disabled", func(t *testing.T) {
		g.Must(t, dir, "build", "-q", "-f", "app.Dockerfile", ".")
		const knob = "/proc/sys/user/max_user_namespaces"
		old, err := os.ReadFile(knob)
		if err != nil {
			t.Skip(err)
		}
		if err := os.WriteFile(knob, []byte("0"), 0o644); err != nil {
			t.Skip(err)
		}
		defer os.WriteFile(knob, old, 0o644)
		r := g.Run(t, dir, "images")
		if r.Code != 1 || !strings.Contains(r.Stderr, "user.max_user_namespaces is 0; as root, run `sysctl -w user.max_user_namespaces=15000`") {
			t.Errorf("exit %d:\n%s", r.Code, r.Stderr)
		}
		// A rebuild with every step cached needs no namespace at all.
		r = g.Must(t, dir, "build", "--progress=plain", "-f", "app.Dockerfile", ".")
		if !cached(r.Stderr, "RUN echo ok > /ok") {
			t.Errorf("warm rebuild:\n%s", r.Stderr)
		}
		r = g.Run(t, dir, "build", "--progress=plain", "--no-cache", "-f", "app.Dockerfile", ".")
		if r.Code != 1 || !strings.Contains(r.Stderr, "user.max_user_namespaces is 0") || strings.Contains(r.Stderr, "CACHED") {
			t.Errorf("a build that must run a step: exit %d:\n%s", r.Code, r.Stderr)
		}
	})
}

// TestRootAndRootlessDoNotShareARoot: a root made rootless is refused as
// root, with the fix.
func TestRootAndRootlessDoNotShareARoot(t *testing.T) {
	g, u := rootlessGorae(t)
	rootful := &testutil.Gorae{Bin: goraeBin, Root: filepath.Join(u.Home, ".local", "share", "gorae")}
	r := rootful.Run(t, u.Home, "images")
	if r.Code != 1 || !strings.Contains(r.Stderr, "is used rootless (in a user namespace) and cannot be used as root") || !strings.Contains(r.Stderr, "GORAE_ROOT") {
		t.Errorf("exit %d:\n%s", r.Code, r.Stderr)
	}
	g.Must(t, u.Home, "images")
}

func goraeBinOf(u *testutil.User) string {
	return filepath.Join(u.Home, "bin", filepath.Base(goraeBin))
}

// rootOwnedTar copies the tar src to dst with every entry made root's.
func rootOwnedTar(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// withoutSubIDs removes name's lines from /etc/subuid and /etc/subgid
// until the returned function puts the files back.
func withoutSubIDs(t *testing.T, name string) func() {
	t.Helper()
	var undo []func()
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if !strings.HasPrefix(l, name+":") {
				kept = append(kept, l)
			}
		}
		if err := os.WriteFile(f, []byte(strings.Join(kept, "")), 0o644); err != nil {
			t.Fatal(err)
		}
		undo = append(undo, func() { os.WriteFile(f, b, 0o644) })
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}

// TestRootlessKilledLeavesNothing: a rootless gorae interrupted or killed
// (SIGKILL) during a RUN takes its namespace's gorae and the command
// with it, and the next build on the root works.
func TestRootlessKilledLeavesNothing(t *testing.T) {
	g, u := rootlessGorae(t)
	dir := u.Dir(t, "ctx")
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile":    "FROM busybox\nRUN sleep 31.5\n",
		"ok.Dockerfile": "FROM busybox\nRUN echo ok > /ok\n",
	})
	u.Chown(t, dir)
	running := func() []int { return pidsOf("sleep\x0031.5\x00") }
	// SIGINT to the user's gorae (as a CI runner sends it) interrupts the
	// build once: exit 130; SIGKILL takes everything with it.
	for _, sig := range []os.Signal{os.Interrupt, os.Kill} {
		cmd := u.Command(g.Bin, []string{"build", "-q", "."})
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); len(running()) == 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("the RUN did not start")
			}
		}
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); sig == os.Interrupt && (!ok || ee.ExitCode() != 130) {
			t.Errorf("after SIGINT: %v, want exit 130", err)
		}
		for deadline := time.Now().Add(10 * time.Second); len(running()) > 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after %v the RUN's command outlived gorae: pids %v", sig, running())
			}
		}
	}
	g.Must(t, dir, "build", "-q", "-f", "ok.Dockerfile", ".")
}

// pidsOf lists the live (not zombie) processes whose command line is
// cmdline (arguments NUL-separated, NUL-terminated).
func pidsOf(cmdline string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || string(b) != cmdline {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:])); len(f) > 0 && f[0] == "Z" {
				continue
			}
		}
		out = append(out, pid)
	}
	return out
}

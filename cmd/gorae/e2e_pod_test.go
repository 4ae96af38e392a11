package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// podCaps is the capability set a rootful gorae needs in a pod, as
// deploy/kubernetes/gorae-rootful-job.yaml gives it: Docker's default set
// plus SYS_ADMIN (mounts, namespaces, pivot_root) and NET_ADMIN (lo in
// --network=none).
const podCaps = "-all,+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap,+net_bind_service," +
	"+net_raw,+sys_chroot,+mknod,+audit_write,+setfcap,+sys_admin,+net_admin"

// podDockerfile needs what a build in a pod needs: RUN, a user switch and
// --network=none.
const podDockerfile = `FROM busybox
RUN echo built > /built && chown 1000:1000 /built
RUN --network=none cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' > /ifaces
`

// seccompExec builds the helper that runs a command under one of gorae's
// seccomp profiles, where any user can run it.
func seccompExec(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "seccompexec")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "seccompexec")
	cmd := exec.Command("go", "build", "-o", bin, "./internal/testutil/seccompexec")
	cmd.Dir = testutil.RepoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build seccompexec: %v\n%s", err, out)
	}
	return bin
}

// inPod runs script with sh in dir, in a mount namespace where /proc is
// masked as a container runtime masks it (/proc/keys over /dev/null).
func inPod(t *testing.T, dir, script string) (string, error) {
	t.Helper()
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", "mount --bind /dev/null /proc/keys && "+script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPodRootful reproduces a rootful pod: root with only podCaps, a
// masked /proc and a seccomp profile. With gorae's profile
// (deploy/seccomp/gorae.json) RUN works; with RuntimeDefault, even with
// CAP_SYS_ADMIN, pivot_root is refused and the error names the profile.
func TestPodRootful(t *testing.T) {
	g := newGorae(t)
	sx := seccompExec(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": podDockerfile})
	out := filepath.Join(t.TempDir(), "out")
	run := func(profile string) (string, error) {
		return inPod(t, dir, "exec setpriv --bounding-set="+podCaps+" --inh-caps=-all "+sx+" "+profile+
			" env GORAE_ROOT="+g.Root+" "+g.Bin+" build --progress=plain --no-cache --output type=local,dest="+out+" .")
	}
	if o, err := run("gorae"); err != nil {
		t.Fatalf("build in a rootful pod with gorae's seccomp profile: %v\n%s", err, o)
	}
	for name, want := range map[string]string{"built": "built\n", "ifaces": "lo\n"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("/%s = %q, %v; want %q", name, b, err, want)
		}
	}
	o, err := run("runtime-default+sys_admin")
	if err == nil || !strings.Contains(o, "seccomp profile forbids pivot_root") || !strings.Contains(o, "deploy/seccomp/gorae.json") {
		t.Errorf("RuntimeDefault: %v\n%s", err, o)
	}
}

// TestPodRootless reproduces a rootless pod: a user, a masked /proc and a
// seccomp profile. RuntimeDefault forbids the user namespace and the
// error says so; with gorae's profile RUN works, and the masked /proc is
// bound with a warning.
func TestPodRootless(t *testing.T) {
	g, u := rootlessGorae(t)
	sx := seccompExec(t)
	dir := u.Dir(t, "ctx")
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": podDockerfile})
	u.Chown(t, dir)
	out := filepath.Join(u.Home, "out")
	// The Job's capabilities: only SETUID and SETGID, and the image's
	// newuidmap/newgidmap, which carry file capabilities.
	helpers := u.Dir(t, "helpers")
	for name, c := range map[string]string{"newuidmap": "cap_setuid=ep", "newgidmap": "cap_setgid=ep"} {
		b, err := os.ReadFile("/usr/bin/" + name)
		if err != nil {
			t.Skip(err)
		}
		os.WriteFile(filepath.Join(helpers, name), b, 0o755)
		if out, err := exec.Command("setcap", c, filepath.Join(helpers, name)).CombinedOutput(); err != nil {
			t.Skipf("setcap (libcap2-bin): %v %s", err, out)
		}
	}
	run := func(profile string) (string, error) {
		return inPod(t, dir, "exec "+sx+" "+profile+" setpriv --reuid="+strconv.Itoa(u.UID)+" --regid="+strconv.Itoa(u.GID)+
			" --clear-groups --bounding-set=-all,+setuid,+setgid env -i HOME="+u.Home+" PATH="+helpers+":/usr/bin:/bin "+
			g.Bin+" build --progress=plain --output type=local,dest="+out+" .")
	}
	o, err := run("runtime-default")
	if err == nil || !strings.Contains(o, "this system does not allow one") || !strings.Contains(o, "seccomp") {
		t.Errorf("RuntimeDefault: %v\n%s", err, o)
	}
	o, err = run("gorae")
	if err != nil {
		t.Fatalf("build in a rootless pod with gorae's seccomp profile: %v\n%s", err, o)
	}
	if !strings.Contains(o, "/proc could not be mounted") || strings.Contains(o, "only your own user mapped") {
		t.Errorf("no warning about the masked /proc, or the subordinate ids not mapped:\n%s", o)
	}
	for name, want := range map[string]string{"built": "built\n", "ifaces": "lo\n"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("/%s = %q, %v; want %q", name, b, err, want)
		}
	}
}

// TestPodUserNamespaced reproduces a pod with hostUsers: false: gorae as
// root of a user namespace (ids 0–65535 → 200000–265535 on the host) with
// podCaps in it, a masked /proc and gorae's seccomp profile. gorae is
// root there, so it does not re-execute itself, and works as rootless
// does (overlay with user xattrs).
func TestPodUserNamespaced(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test (runs the gorae binary)")
	}
	sx := seccompExec(t)
	dir, err := os.MkdirTemp("", "userns-pod")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	root := filepath.Join(dir, "root")
	ctx := filepath.Join(dir, "ctx")
	testutil.WriteFiles(t, ctx, map[string]string{"Dockerfile": podDockerfile})
	base := filepath.Join(dir, "busybox.tar")
	if err := os.Rename(testutil.BusyboxTar(t), base); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "gorae")
	if b, err := os.ReadFile(goraeBin); err != nil || os.WriteFile(bin, b, 0o755) != nil {
		t.Fatal("copy gorae")
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	// Everything the pod's root uses is its own, as in a pod's volumes.
	for _, p := range []string{root, ctx, base} {
		filepath.Walk(p, func(q string, _ os.FileInfo, _ error) error { return os.Lchown(q, 200000, 200000) })
	}
	out := filepath.Join(root, "out")
	gorae := "env GORAE_ROOT=" + root + " " + bin
	o, err := inPod(t, ctx, "exec setpriv --bounding-set="+podCaps+" --inh-caps=-all "+sx+" gorae "+sx+" --userns sh -c '"+
		gorae+" import "+base+" busybox && "+gorae+" build --progress=plain --output type=local,dest="+out+" .'")
	if err != nil {
		t.Fatalf("build in a pod with hostUsers: false: %v\n%s", err, o)
	}
	for name, want := range map[string]string{"built": "built\n", "ifaces": "lo\n"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("/%s = %q, %v; want %q", name, b, err, want)
		}
	}
}

// TestPodManifests: the Jobs in deploy/kubernetes give the pod exactly
// what the pod tests above reproduce.
func TestPodManifests(t *testing.T) {
	dir := filepath.Join(testutil.RepoRoot(t), "deploy", "kubernetes")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var caps []string
	for _, c := range strings.Split(podCaps, ",")[1:] {
		caps = append(caps, `"`+strings.ToUpper(strings.TrimPrefix(c, "+"))+`"`)
	}
	for name, want := range map[string][]string{
		"gorae-rootful-job.yaml":  append([]string{"runAsUser: 0", `drop: ["ALL"]`}, caps...),
		"gorae-userns-job.yaml":   append([]string{"hostUsers: false", "runAsUser: 0", `drop: ["ALL"]`, "procMount: Unmasked"}, caps...),
		"gorae-rootless-job.yaml": {"runAsUser: 1000", "allowPrivilegeEscalation: true", `drop: ["ALL"]`, `add: ["SETUID", "SETGID"]`},
	} {
		m := read(name)
		for _, w := range append(want, "localhostProfile: profiles/gorae.json", "type: Unconfined", "emptyDir: {}", "secretName: gorae-registry", "DOCKER_CONFIG") {
			if !strings.Contains(m, w) {
				t.Errorf("%s lacks %s", name, w)
			}
		}
	}
	if m := read("gorae-rootless-job.yaml"); strings.Count(m, "add:") != 1 {
		t.Error("the rootless Job adds other capabilities than SETUID and SETGID")
	}
}

// TestPodNoNamespaces reproduces a container that allows no namespace:
// root with Docker's default capabilities only and RuntimeDefault. RUN
// fails naming --isolation=chroot; with it, RUN runs in a chroot, said
// loudly, and the image is the one a namespaced build makes.
func TestPodNoNamespaces(t *testing.T) {
	g := newGorae(t)
	sx := seccompExec(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo built > /built && chown 1000:1000 /built && ls /dev/null && mkdir -p /d/x && touch /d/x/a /d/b && rm /etc/group && echo x > /etc/newfile\n" +
			"RUN rm -rf /d/x && mkdir /d/x && touch /d/x/new && id -u > /uid\n",
		"none.Dockerfile":  "FROM busybox\nRUN --network=none true\n",
		"mount.Dockerfile": "FROM busybox\nRUN --mount=type=cache,target=/c true\n",
	})
	base := filepath.Join(t.TempDir(), "busybox.tar")
	g.Must(t, dir, "save", "-o", base, "busybox")
	root := filepath.Join(t.TempDir(), "root")
	dockerCaps := strings.TrimSuffix(podCaps, ",+sys_admin,+net_admin")
	run := func(args string) (string, error) {
		return inPod(t, dir, "exec "+sx+" runtime-default setpriv --bounding-set="+dockerCaps+" --inh-caps=-all env GORAE_ROOT="+root+
			" SOURCE_DATE_EPOCH=1750000000 "+g.Bin+" "+args)
	}
	if o, err := run("load -i " + base); err != nil {
		t.Fatalf("load: %v\n%s", err, o)
	}
	o, err := run("build --progress=plain .")
	if err == nil || !strings.Contains(o, "namespaces cannot be made here") || !strings.Contains(o, "--isolation=chroot") {
		t.Errorf("RUN without namespaces: %v\n%s", err, o)
	}
	o, err = run("build -q --isolation=chroot .")
	if err != nil {
		t.Fatalf("--isolation=chroot: %v\n%s", err, o)
	}
	if !strings.Contains(o, "gorae: WARNING: --isolation=chroot: RUN steps are NOT isolated") {
		t.Errorf("no warning that RUN is not isolated:\n%s", o)
	}
	lines := strings.Split(strings.TrimSpace(o), "\n")
	// An epoch after the base's file times, so that a directory the RUN
	// changed keeps its own time (nothing is clamped away).
	g.Env = []string{"SOURCE_DATE_EPOCH=1750000000"}
	if want := strings.TrimSpace(g.Must(t, dir, "build", "-q", ".").Stdout); lines[len(lines)-1] != want {
		t.Errorf("--isolation=chroot made %s, a namespaced build %s", lines[len(lines)-1], want)
	}
	for file, want := range map[string]string{
		"none.Dockerfile":  "--network=none needs namespaces",
		"mount.Dockerfile": "--isolation=chroot cannot mount /c",
	} {
		if o, err := run("build -q --isolation=chroot -f " + file + " ."); err == nil || !strings.Contains(o, want) {
			t.Errorf("%s: %v\n%s", file, err, o)
		}
	}
}

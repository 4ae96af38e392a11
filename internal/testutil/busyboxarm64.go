package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// CacheDir is where test helpers keep what they download once for every
// run (Debian packages of other architectures): $GORAE_TEST_CACHE, else
// gorae-test in the user's cache directory.
func CacheDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("GORAE_TEST_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			t.Fatalf("no cache directory for test downloads: %v (set GORAE_TEST_CACHE)", err)
		}
		dir = filepath.Join(base, "gorae-test")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// arm64Busybox serializes the download within one test process; other
// processes may download at the same time, each into a directory of its
// own, and the last rename wins with the same bytes.
var arm64Busybox sync.Mutex

// BusyboxArm64 is the path of busybox from Debian's busybox-static:arm64,
// downloaded once into CacheDir with apt-get (adding the arm64 dpkg
// architecture first when it is missing) and never run here.
func BusyboxArm64(t testing.TB) string {
	t.Helper()
	arm64Busybox.Lock()
	defer arm64Busybox.Unlock()
	cache := CacheDir(t)
	bin := filepath.Join(cache, "busybox-arm64")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("the arm64 busybox comes from Debian's busybox-static:arm64, and apt-get is not installed")
	}
	out, err := exec.Command("dpkg", "--print-foreign-architectures").Output()
	if err != nil {
		t.Fatalf("dpkg --print-foreign-architectures: %v", err)
	}
	if !strings.Contains(" "+strings.Join(strings.Fields(string(out)), " ")+" ", " arm64 ") {
		if os.Geteuid() != 0 {
			t.Skip("dpkg has no arm64 architecture, and adding it needs root: dpkg --add-architecture arm64 && apt-get update")
		}
		run(t, "", "dpkg", "--add-architecture", "arm64")
		run(t, "", "apt-get", "update", "-qq")
	}
	tmp, err := os.MkdirTemp(cache, "busybox-arm64-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	// apt-get download leaves the .deb in the working directory, as the
	// _apt user when it can: let that user write there.
	if err := os.Chmod(tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	run(t, tmp, "apt-get", "download", "-qq", "busybox-static:arm64")
	debs, _ := filepath.Glob(filepath.Join(tmp, "busybox-static_*_arm64.deb"))
	if len(debs) != 1 {
		t.Fatalf("apt-get download busybox-static:arm64 left %v in %s", debs, tmp)
	}
	run(t, tmp, "sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -x ./bin/busybox`, "sh", debs[0])
	if err := os.Rename(filepath.Join(tmp, "bin", "busybox"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

func run(t testing.TB, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
	}
}

// BusyboxArm64Tar writes the root filesystem tar of BusyboxTar, with the
// arm64 busybox instead of this machine's, into t's temp dir. The applet
// links are those of this machine's busybox (the same Debian version), so
// nothing of arm64 runs to make it.
func BusyboxArm64Tar(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("busybox-static is not installed (make test installs it)")
	}
	bb := BusyboxArm64(t)
	out := filepath.Join(t.TempDir(), "busybox-arm64.tar")
	cmd := exec.Command("bash", filepath.Join(RepoRoot(t), "testdata", "busybox-rootfs.sh"), out)
	cmd.Env = append(os.Environ(), "BUSYBOX="+bb, "BUSYBOX_LIST=/bin/busybox")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make arm64 busybox rootfs: %v\n%s", err, b)
	}
	return out
}

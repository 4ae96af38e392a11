package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// ppc64le belongs to this test among the tests that change the machine's
// binfmt_misc handlers (see binfmt/misc_test.go for the others' arches).
const e2eMisc = "/proc/sys/fs/binfmt_misc"

// TestEmulationErrors provokes the two emulation failures a user meets:
// no handler for the architecture, and a handler registered without the
// F flag (which cannot work inside the sandbox). Each fails the build
// before the RUN, with the fix, and nothing is left mounted.
func TestEmulationErrors(t *testing.T) {
	g := newGorae(t)
	if os.Geteuid() != 0 {
		t.Skip("changing binfmt_misc handlers needs root")
	}
	if f, err := os.OpenFile(filepath.Join(e2eMisc, "register"), os.O_WRONLY, 0); err != nil {
		t.Skipf("binfmt_misc cannot be changed here: %v", err)
	} else {
		f.Close()
	}
	// A registered qemu-ppc64le is switched off for the test, and back on.
	sys := filepath.Join(e2eMisc, "qemu-ppc64le")
	if b, err := os.ReadFile(sys); err == nil && strings.HasPrefix(string(b), "enabled") {
		writeMisc(t, sys, "0")
		t.Cleanup(func() { writeMisc(t, sys, "1") })
	}
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\nRUN true\n"})

	r := g.Run(t, dir, "build", "--platform", "linux/ppc64le", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "cannot run linux/ppc64le binaries on this") ||
		!strings.Contains(r.Stderr, "qemu-ppc64le") || !strings.Contains(r.Stderr, "Dockerfile:2") {
		t.Errorf("no handler: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}

	// Debian's format for ppc64le, registered without F.
	format, err := os.ReadFile("/usr/share/binfmts/qemu-ppc64le")
	if err != nil {
		t.Skipf("qemu-user-static's format for ppc64le: %v", err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(format), "\n") {
		k, v, _ := strings.Cut(line, " ")
		fields[k] = v
	}
	name := "gorae-e2e-ppc64le"
	writeMisc(t, filepath.Join(e2eMisc, "register"), ":"+name+":M:0:"+fields["magic"]+":"+fields["mask"]+":/usr/bin/qemu-ppc64le-static:")
	t.Cleanup(func() { writeMisc(t, filepath.Join(e2eMisc, name), "-1") })
	r = g.Run(t, dir, "build", "--platform", "linux/ppc64le", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "without the F flag") || !strings.Contains(r.Stderr, name) {
		t.Errorf("no F flag: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
}

func writeMisc(t *testing.T, file, line string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(line), 0); err != nil {
		t.Fatalf("echo %q > %s: %v", line, file, err)
	}
}

// TestRunEmulationError: gorae run of an image for an architecture this
// machine cannot run says so with the fix (exit 125), as a RUN step does,
// instead of the command's "exec format error". (linux/arm/v7 is read
// only here: it is skipped where a handler for it is registered.)
func TestRunEmulationError(t *testing.T) {
	g := newGorae(t)
	if _, err := os.Stat(filepath.Join(e2eMisc, "qemu-arm")); err == nil {
		t.Skip("qemu-arm is registered here")
	}
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\nCMD [\"/f\"]\n", "f": "not a program"})
	g.Must(t, dir, "build", "--platform", "linux/arm/v7", "-t", "armv7", ".")
	r := g.Run(t, dir, "run", "--rm", "--platform", "linux/arm/v7", "armv7")
	if r.Code != 125 || !strings.Contains(r.Stderr, "cannot run linux/arm/v7 binaries on this") || !strings.Contains(r.Stderr, "qemu-arm") {
		t.Errorf("run of an arm/v7 image without emulation: exit %d\n%s", r.Code, r.Stderr)
	}
}

package binfmt

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func linux(arch string) v1.Platform { return v1.Platform{OS: "linux", Architecture: arch} }

// TestCheckHost: the host's own platform needs no probe, whatever
// binfmt_misc says.
func TestCheckHost(t *testing.T) {
	c := &Checker{Dir: "/nonexistent", MiscDir: "/nonexistent"}
	if err := c.Check(linux(runtime.GOARCH)); err != nil {
		t.Errorf("Check(host) = %v", err)
	}
}

// TestCheckArm64: arm64 runs through the machine's qemu-aarch64 handler,
// registered with F (make deps does it). Only read, never changed: other
// packages' end-to-end tests build for arm64 at the same time.
func TestCheckArm64(t *testing.T) {
	if runtime.GOARCH == "arm64" {
		t.Skip("arm64 is the host's architecture")
	}
	b, err := os.ReadFile(filepath.Join(DefaultMiscDir, "qemu-aarch64"))
	if err != nil || !strings.Contains(string(b), "enabled") || !strings.Contains(parseHandler("", b).flags, "F") {
		t.Skip("qemu-aarch64 is not registered with the F flag here (make deps registers it)")
	}
	if err := (&Checker{Dir: t.TempDir()}).Check(linux("arm64")); err != nil {
		t.Errorf("Check(linux/arm64) = %v", err)
	}
	// A probe that ran is enough when the handlers cannot be read.
	if err := (&Checker{MiscDir: "/nonexistent"}).Check(linux("arm64")); err != nil {
		t.Errorf("Check(linux/arm64) without binfmt_misc to read = %v", err)
	}
	if err := (&Checker{MiscDir: t.TempDir()}).Check(v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}); err != nil {
		t.Errorf("Check(linux/arm64/v8) with no handler to read = %v", err)
	}
}

// TestCheckUnsupported: an architecture without a probe, or another OS,
// is an error naming the platform.
func TestCheckUnsupported(t *testing.T) {
	c := &Checker{}
	err := c.Check(linux("sparc64"))
	want := "gorae cannot check emulation for linux/sparc64: it has probes for linux/386, linux/amd64, linux/arm, linux/arm64, linux/mips64le, linux/ppc64le, linux/riscv64, linux/s390x only; build that stage for one of them, or without RUN"
	if err == nil || err.Error() != want {
		t.Errorf("Check(linux/sparc64) = %v\nwant %s", err, want)
	}
	err = c.Check(v1.Platform{OS: "windows", Architecture: runtime.GOARCH})
	want = "cannot run windows/" + runtime.GOARCH + " binaries: gorae runs RUN steps of linux platforms only"
	if err == nil || err.Error() != want {
		t.Errorf("Check(windows) = %v\nwant %s", err, want)
	}
}

// TestCheckWithoutFFlag (s390x): a handler without F runs the probe in
// gorae's own mount namespace but would not inside the sandbox; the
// error says how to re-register it. The result is remembered.
func TestCheckWithoutFFlag(t *testing.T) {
	needMisc(t)
	qemu := needQemu(t, "s390x")
	disableHandlers(t, "s390x")
	register(t, "gorae-test-s390x", "s390x", qemu, "")
	c := &Checker{Dir: t.TempDir()}
	err := c.Check(linux("s390x"))
	want := "linux/s390x emulation is registered without the F flag (handler gorae-test-s390x, interpreter " + qemu + "), so it cannot run inside the build sandbox: " +
		"remove it (echo -1 > /proc/sys/fs/binfmt_misc/gorae-test-s390x) and register one with the F flag, e.g. update-binfmts --enable qemu-s390x on Debian (qemu-user-static registers with F), or docker run --privileged tonistiigi/binfmt --install s390x"
	if err == nil || err.Error() != want {
		t.Fatalf("Check(linux/s390x) = %v\nwant %s", err, want)
	}

	writeMisc(t, "gorae-test-s390x", "-1")
	register(t, "qemu-s390x-gorae-test", "s390x", qemu, "F")
	if err := c.Check(linux("s390x")); err == nil || err.Error() != want {
		t.Errorf("a second Check(linux/s390x) probed again: %v", err)
	}
	if err := (&Checker{Dir: t.TempDir()}).Check(linux("s390x")); err != nil {
		t.Errorf("Check(linux/s390x) with an F handler = %v", err)
	}
}

// TestCheckDisabledHandler (riscv64): a handler that is registered but
// off refuses the probe; the error says how to turn it on.
func TestCheckDisabledHandler(t *testing.T) {
	needMisc(t)
	qemu := needQemu(t, "riscv64")
	disableHandlers(t, "riscv64")
	register(t, "gorae-test-riscv64", "riscv64", qemu, "F")
	writeMisc(t, "gorae-test-riscv64", "0")
	err := (&Checker{Dir: t.TempDir()}).Check(linux("riscv64"))
	if err == nil {
		t.Fatal("Check(linux/riscv64) with its handler disabled = nil")
	}
	// Another disabled riscv64 handler of the machine may come first.
	want := "cannot run linux/riscv64 binaries on this linux/" + runtime.GOARCH + " machine: the binfmt_misc handler "
	if got := err.Error(); !strings.HasPrefix(got, want) || !strings.Contains(got, " for riscv64 is registered but disabled: run update-binfmts --enable ") {
		t.Errorf("Check(linux/riscv64) = %v\nwant %s… is registered but disabled: run update-binfmts --enable …", err, want)
	}
}

// TestCheckNoHandler (mips64le): without any handler the kernel refuses
// the probe (exec format error); the error names the emulator to
// install, or the installed one to register.
func TestCheckNoHandler(t *testing.T) {
	needMisc(t)
	removeHandlers(t, "mips64le")
	err := (&Checker{Dir: t.TempDir()}).Check(linux("mips64le"))
	head := "cannot run linux/mips64le binaries on this linux/" + runtime.GOARCH + " machine: no binfmt_misc handler for mips64le is registered"
	want := head + ". Install qemu-user-static and run update-binfmts --enable qemu-mips64el (Debian), or docker run --privileged tonistiigi/binfmt --install mips64le"
	if p, lerr := exec.LookPath("qemu-mips64el-static"); lerr == nil {
		want = head + ": qemu-mips64el-static (qemu-user-static) is installed at " + p + " but not registered: run update-binfmts --enable qemu-mips64el"
		if _, serr := os.Stat("/usr/share/binfmts/qemu-mips64el"); serr != nil {
			t.Skip("qemu-mips64el-static is installed without a format for update-binfmts")
		}
	}
	if err == nil || err.Error() != want {
		t.Errorf("Check(linux/mips64le) = %v\nwant %s", err, want)
	}
}

// TestHandlerMatches reads an entry as the kernel shows it.
func TestHandlerMatches(t *testing.T) {
	h := parseHandler("qemu-aarch64", []byte("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\n"+
		"magic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"))
	if !h.enabled || h.flags != "PF" || h.interpreter != "/usr/libexec/qemu-binfmt/aarch64-binfmt-P" {
		t.Errorf("parsed %+v", h)
	}
	for _, a := range Supported() {
		if got := h.matches(arches[a].program()); got != (a == "arm64") {
			t.Errorf("the aarch64 handler matches the %s probe: %v", a, got)
		}
	}
}

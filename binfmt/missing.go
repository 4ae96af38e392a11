package binfmt

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// debianFormats is where Debian's binfmt-support keeps the formats that
// update-binfmts can enable (qemu-user-static installs one per emulator).
const debianFormats = "/usr/share/binfmts"

// noHandler explains a probe the kernel refused to run (exec format
// error): binfmt_misc is missing or off, the handler is disabled, or no
// handler is registered; and what to run about it.
func (c *Checker) noHandler(name, goarch string, a arch, prog []byte) error {
	dir := c.miscDir()
	debian := "qemu-" + a.qemu
	install := fmt.Sprintf("Install qemu-user-static and run update-binfmts --enable %s (Debian), or docker run --privileged tonistiigi/binfmt --install %s", debian, goarch)
	head := fmt.Sprintf("cannot run %s binaries on this linux/%s machine: ", name, runtime.GOARCH)
	if runtime.GOARCH == "amd64" && goarch == "386" {
		head += "this kernel does not run 32-bit x86 binaries itself (built without IA32 emulation, or booted with ia32_emulation=0), and "
	}
	if _, err := os.Stat(filepath.Join(dir, "register")); err != nil {
		return fmt.Errorf("%sbinfmt_misc is not mounted at %s, so no emulator can be registered: mount -t binfmt_misc binfmt_misc %s, then: %s", head, dir, dir, install)
	}
	if st, err := os.ReadFile(filepath.Join(dir, "status")); err == nil && strings.TrimSpace(string(st)) == "disabled" {
		return fmt.Errorf("%sbinfmt_misc is disabled: echo 1 > %s/status", head, dir)
	}
	hs, _ := handlers(dir)
	for _, h := range hs {
		if !h.enabled && h.matches(prog) {
			return fmt.Errorf("%sthe binfmt_misc handler %s for %s is registered but disabled: run update-binfmts --enable %s (Debian's qemu-user-static), or echo 1 > %s/%s", head, h.name, goarch, h.name, dir, h.name)
		}
	}
	msg := fmt.Sprintf("%sno binfmt_misc handler for %s is registered. %s", head, goarch, install)
	if path, err := exec.LookPath(debian + "-static"); err == nil {
		if _, err := os.Stat(filepath.Join(debianFormats, debian)); err == nil {
			msg = fmt.Sprintf("%sno binfmt_misc handler for %s is registered: %s-static (qemu-user-static) is installed at %s but not registered: run update-binfmts --enable %s", head, goarch, debian, path, debian)
		} else {
			msg = fmt.Sprintf("%sno binfmt_misc handler for %s is registered: %s-static is installed at %s but not registered, and update-binfmts has no format for it: register it with docker run --privileged tonistiigi/binfmt --install %s, or yourself with the F flag (%s/register)", head, goarch, debian, path, goarch, dir)
		}
	}
	return fmt.Errorf("%s", msg)
}

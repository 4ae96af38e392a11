package binfmt

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestProbesExitZero runs every probe program under its qemu user-mode
// emulator directly (no binfmt_misc involved): each must be a valid
// executable of its machine that exits 0.
func TestProbesExitZero(t *testing.T) {
	dir := t.TempDir()
	for _, name := range Supported() {
		t.Run(name, func(t *testing.T) {
			a := arches[name]
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, a.program(), 0o700); err != nil {
				t.Fatal(err)
			}
			f, err := elf.Open(p)
			if err != nil {
				t.Fatalf("the %s probe is not an ELF file Go can read: %v", name, err)
			}
			if f.Machine != elf.Machine(a.machine) || f.Type != elf.ET_EXEC || len(f.Progs) != 1 {
				t.Errorf("the %s probe: machine %v type %v %d program headers", name, f.Machine, f.Type, len(f.Progs))
			}
			f.Close()
			qemu := "/usr/bin/qemu-" + a.qemu + "-static"
			if _, err := os.Stat(qemu); err != nil {
				t.Skipf("%s is not installed (apt-get install qemu-user-static)", qemu)
			}
			if out, err := exec.Command(qemu, p).CombinedOutput(); err != nil {
				t.Errorf("%s %s: %v\n%s", qemu, p, err, out)
			}
		})
	}
}

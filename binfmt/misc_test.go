package binfmt

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The tests of this package change the machine's binfmt_misc handlers,
// which every process shares. Each architecture belongs to one test, and
// no other package's tests may touch these three (end-to-end tests
// emulate arm64, which is only ever read here):
//
//	riscv64   TestCheckDisabledHandler
//	s390x     TestCheckWithoutFFlag
//	mips64le  TestCheckNoHandler
//
// Every change is undone in t.Cleanup, to the state found before.

// needMisc skips t unless binfmt_misc is mounted and this process may
// register handlers (root, or root of the namespace that owns it).
func needMisc(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("changing binfmt_misc handlers needs root")
	}
	f, err := os.OpenFile(filepath.Join(DefaultMiscDir, "register"), os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("binfmt_misc cannot be changed here: %v", err)
	}
	f.Close()
}

func writeMisc(t *testing.T, file, line string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(DefaultMiscDir, file), []byte(line), 0); err != nil {
		t.Fatalf("echo %q > %s/%s: %v", line, DefaultMiscDir, file, err)
	}
}

// register adds a handler name for goarch's ELF header, as
// qemu-user-static's formats are (the header's first 20 bytes, any OS/ABI
// byte, ET_EXEC or ET_DYN), and removes it when t ends.
func register(t *testing.T, name, goarch, interpreter, flags string) {
	t.Helper()
	a := arches[goarch]
	magic := a.program()[:20]
	mask := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	mask = a.order.AppendUint16(mask, 0xfffe)
	mask = binary.BigEndian.AppendUint16(mask, 0xffff)
	writeMisc(t, "register", registerLine(handler{name: name, magic: magic, mask: mask, interpreter: interpreter, flags: flags}))
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(DefaultMiscDir, name)); err == nil {
			writeMisc(t, name, "-1")
		}
	})
}

func registerLine(h handler) string {
	esc := func(b []byte) string {
		var s strings.Builder
		for _, c := range b {
			fmt.Fprintf(&s, `\x%02x`, c)
		}
		return s.String()
	}
	return fmt.Sprintf(":%s:M:%d:%s:%s:%s:%s", h.name, h.offset, esc(h.magic), esc(h.mask), h.interpreter, h.flags)
}

// matchingHandlers are the handlers of the machine that match goarch's
// probe.
func matchingHandlers(t *testing.T, goarch string) []handler {
	t.Helper()
	hs, err := handlers(DefaultMiscDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []handler
	for _, h := range hs {
		if h.matches(arches[goarch].program()) {
			out = append(out, h)
		}
	}
	return out
}

// disableHandlers turns off every enabled handler of goarch, and on
// again when t ends.
func disableHandlers(t *testing.T, goarch string) {
	t.Helper()
	for _, h := range matchingHandlers(t, goarch) {
		if h.enabled {
			writeMisc(t, h.name, "0")
			t.Cleanup(func() { writeMisc(t, h.name, "1") })
		}
	}
}

// removeHandlers removes every handler of goarch, and registers each
// again, enabled or not as it was, when t ends.
func removeHandlers(t *testing.T, goarch string) {
	t.Helper()
	for _, h := range matchingHandlers(t, goarch) {
		writeMisc(t, h.name, "-1")
		t.Cleanup(func() {
			writeMisc(t, "register", registerLine(h))
			if !h.enabled {
				writeMisc(t, h.name, "0")
			}
		})
	}
}

func needQemu(t *testing.T, goarch string) string {
	t.Helper()
	p := "/usr/bin/qemu-" + arches[goarch].qemu + "-static"
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is not installed (apt-get install qemu-user-static)", p)
	}
	return p
}

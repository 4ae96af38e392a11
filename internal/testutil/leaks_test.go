package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheckLeaksFindsChildProcess(t *testing.T) {
	if err := CheckLeaks(); err != nil {
		t.Fatalf("leaks before the test: %v", err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := CheckLeaks()
	if err == nil || !strings.Contains(err.Error(), "process "+strconv.Itoa(cmd.Process.Pid)+" sleep") {
		t.Errorf("CheckLeaks with a running child = %v, want it named", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := CheckLeaks(); err != nil {
		t.Errorf("CheckLeaks after the child was waited for: %v", err)
	}
}

func TestCheckLeaksFindsOwnedMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	// As an active snapshot of this process: DIR/active/<pid>-<hex>/merged.
	mp := filepath.Join(t.TempDir(), "active", strconv.Itoa(os.Getpid())+"-00ff", "merged")
	if err := os.MkdirAll(mp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mp, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(mp, unix.MNT_DETACH) })
	err := CheckLeaks()
	if err == nil || !strings.Contains(err.Error(), "mount "+mp+" (tmpfs, owner pid "+strconv.Itoa(os.Getpid())+")") {
		t.Errorf("CheckLeaks with a mounted snapshot = %v, want it named", err)
	}
	if err := unix.Unmount(mp, 0); err != nil {
		t.Fatal(err)
	}
	if err := CheckLeaks(); err != nil {
		t.Errorf("CheckLeaks after unmount: %v", err)
	}
}

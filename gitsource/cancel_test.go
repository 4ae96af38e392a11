package gitsource_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A cancelled build (Ctrl-C during a fetch) stops git and the helpers it
// started (git-remote-http, ssh), not git alone.
func TestCancelKillsGitHelpers(t *testing.T) {
	bin := t.TempDir()
	pidFile := filepath.Join(bin, "helper.pid")
	script := "#!/bin/sh\nsleep 300 &\necho $! > " + pidFile + "\nwait\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for {
			if _, err := os.Stat(pidFile); err == nil {
				time.Sleep(100 * time.Millisecond)
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	c := newClient(t)
	start := time.Now()
	if _, err := c.Resolve(ctx, parse(t, "https://127.0.0.1:1/app.git"), ""); err == nil {
		t.Fatal("Resolve succeeded after cancel")
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Resolve returned %v after cancel, want at once", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(3 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return // gone, or dead and waiting for init to reap it
		}
		if time.Now().After(deadline) {
			killPID(pid)
			t.Fatalf("git's helper %d still runs after the build was cancelled", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func killPID(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorae/gorae/internal/testutil"
)

// TestInterruptLeavesNothing sends Ctrl-C (SIGINT) in the middle of a large
// COPY: gorae must exit 130, name no image, and leave no temp file.
func TestInterruptLeavesNothing(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nCOPY big /big\n"})
	// A sparse 8 GiB file: cheap to create, seconds to read and compress.
	if err := os.Truncate(filepath.Join(dir, "big"), 0); err != nil {
		f, _ := os.Create(filepath.Join(dir, "big"))
		f.Close()
	}
	if err := os.Truncate(filepath.Join(dir, "big"), 8<<30); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(g.Bin, "build", "-t", "interrupted", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GORAE_ROOT="+g.Root)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 130 {
			t.Fatalf("exit: %v, want code 130\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("gorae did not stop within 10 s of Ctrl-C")
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say it was interrupted:\n%s", stderr.String())
	}
	if r := g.Must(t, dir, "images"); strings.Contains(r.Stdout, "interrupted") {
		t.Errorf("an interrupted build named an image:\n%s", r.Stdout)
	}
	left, _ := os.ReadDir(filepath.Join(g.Root, "tmp"))
	for _, e := range left {
		t.Errorf("left behind in tmp/: %s", e.Name())
	}
}

// TestInterruptStalledStdinContext: Ctrl-C while `producer | gorae build -`
// (or `-f -`) waits for a producer that stalls stops gorae at once (exit
// 130, nothing left in tmp/), not when the pipe closes.
func TestInterruptStalledStdinContext(t *testing.T) {
	g := newGorae(t)
	t.Run("context", func(t *testing.T) {
		interruptStalledStdin(t, g, contextTar(t)[:2000], "build", "-") // a tar's head; the rest never comes
	})
	t.Run("dockerfile", func(t *testing.T) {
		interruptStalledStdin(t, g, []byte("FROM busybox\n"), "build", "-f", "-", t.TempDir())
	})
}

func interruptStalledStdin(t *testing.T, g *testutil.Gorae, head []byte, args ...string) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	cmd := exec.Command(g.Bin, args...)
	cmd.Env = append(os.Environ(), "GORAE_ROOT="+g.Root)
	cmd.Stdin = pr
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	pw.Write(head)
	time.Sleep(700 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 130 {
			t.Fatalf("exit: %v, want code 130\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("gorae did not stop within 10 s of Ctrl-C while reading standard input")
	}
	left, _ := os.ReadDir(filepath.Join(g.Root, "tmp"))
	for _, e := range left {
		t.Errorf("left behind in tmp/: %s", e.Name())
	}
}

package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// RepoRoot is the repository's top directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BuildGorae compiles cmd/gorae into dir, as `make build` does (static,
// without cgo), and returns the binary's path.
func BuildGorae(dir string) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	bin := filepath.Join(dir, "gorae")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gorae")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	return bin, cmd.Run()
}

// BusyboxTar writes the busybox root filesystem tar into t's temp dir.
func BusyboxTar(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("busybox-static is not installed (make test installs it)")
	}
	out := filepath.Join(t.TempDir(), "busybox.tar")
	cmd := exec.Command("bash", filepath.Join(RepoRoot(t), "testdata", "busybox-rootfs.sh"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make busybox rootfs: %v\n%s", err, b)
	}
	return out
}

// Gorae runs the binary with a root of its own.
type Gorae struct {
	Bin  string
	Root string // "" = gorae's default root
	Env  []string
	// User, when set, runs gorae as that user (rootless), with only
	// User.Command's environment and Env.
	User *User
}

// Result is one finished gorae command.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs gorae with args in dir and returns its output and exit code.
func (g *Gorae) Run(t testing.TB, dir string, args ...string) Result {
	t.Helper()
	return g.RunStdin(t, dir, "", args...)
}

// RunStdin runs gorae with stdin fed from input.
func (g *Gorae) RunStdin(t testing.TB, dir, input string, args ...string) Result {
	t.Helper()
	var cmd *exec.Cmd
	if g.User != nil {
		cmd = g.User.Command(g.Bin, args, append(keepEnv(), g.Env...)...)
	} else {
		cmd = exec.Command(g.Bin, args...)
		cmd.Env = append(os.Environ(), g.Env...)
	}
	if g.Root != "" {
		cmd.Env = append(cmd.Env, "GORAE_ROOT="+g.Root)
	}
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(input)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run gorae: %v", err)
	}
	return Result{Stdout: so.String(), Stderr: se.String(), Code: code}
}

// Must runs gorae and fails the test unless it exits 0.
func (g *Gorae) Must(t testing.TB, dir string, args ...string) Result {
	t.Helper()
	r := g.Run(t, dir, args...)
	if r.Code != 0 {
		t.Fatalf("gorae %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// WriteFiles creates files (path → content) under dir.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

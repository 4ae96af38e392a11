package testutil

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FakeKube is a fake Kubernetes cluster for `gorae bake --kubernetes`:
// internal/testutil/fakekubectl built as "kubectl" into a directory put
// first on PATH. Each Job it is given runs its container as a local
// process of gorae (Gorae, the binary to run instead of the image's
// entrypoint) with a fresh root; see the fakekubectl command.
type FakeKube struct {
	Kubectl string // the fake kubectl's path
	Dir     string // $FAKE_KUBECTL_DIR: jobs/NAME.json, pods/NAME/{log,termination-log,node,exit}, calls.log
}

// NewFakeKube builds the fake kubectl and sets PATH, FAKE_KUBECTL_DIR
// and FAKE_KUBECTL_GORAE for the test (so it cannot run in parallel).
// When the test ends, pods still running are stopped and waited for.
func NewFakeKube(t testing.TB, gorae string) *FakeKube {
	t.Helper()
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(bin, "kubectl"), "./internal/testutil/fakekubectl")
	cmd.Dir = RepoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build fakekubectl: %v\n%s", err, out)
	}
	k := &FakeKube{Kubectl: filepath.Join(bin, "kubectl"), Dir: t.TempDir()}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_KUBECTL_DIR", k.Dir)
	t.Setenv("FAKE_KUBECTL_GORAE", gorae)
	t.Cleanup(k.stopPods)
	return k
}

// Jobs returns every Job created so far, by name, as decoded JSON.
func (k *FakeKube) Jobs(t testing.TB) map[string]map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(k.Dir, "jobs", "*.json"))
	out := map[string]map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var j map[string]any
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = j
	}
	return out
}

// Log is the output of the named Job's pod.
func (k *FakeKube) Log(t testing.TB, job string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(k.Dir, "pods", job, "log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Node is the node the named Job's pod ran on.
func (k *FakeKube) Node(t testing.TB, job string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(k.Dir, "pods", job, "node"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Exited reports whether the named Job's pod has ended.
func (k *FakeKube) Exited(job string) bool {
	_, err := os.Stat(filepath.Join(k.Dir, "pods", job, "exit"))
	return err == nil
}

// Calls are the kubectl command lines run so far, in order.
func (k *FakeKube) Calls() []string {
	b, _ := os.ReadFile(filepath.Join(k.Dir, "calls.log"))
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// stopPods stops every pod that has not exited and waits (up to 30 s)
// until each has recorded its exit.
func (k *FakeKube) stopPods() {
	pods, _ := filepath.Glob(filepath.Join(k.Dir, "pods", "*"))
	for _, p := range pods {
		if _, err := os.Stat(filepath.Join(p, "exit")); err == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(p, "pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil {
			continue
		}
		syscall.Kill(-pid, syscall.SIGTERM)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join(p, "exit")); err == nil {
				break
			}
		}
	}
}

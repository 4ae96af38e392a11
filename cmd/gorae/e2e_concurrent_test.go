package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/ops"
)

// gatedRun is a RUN that writes a stamp unique to each execution, but
// only once the test creates go in the cache mount "gate" (which is in
// no cache key): so the test, not a timer, decides when it ends.
const gatedRun = `RUN --mount=type=cache,id=gate,target=/gate sh -c 'touch /gate/started; while [ ! -e /gate/go ]; do sleep 0.05; done; cat /proc/sys/kernel/random/uuid > /stamp'`

// gateDir creates the gate cache mount of g's root and returns it.
func gateDir(t *testing.T, g *testutil.Gorae) string {
	t.Helper()
	dir := ops.CacheMountDir(filepath.Join(g.Root, "mounts"), "gate")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lockedBuffer collects a running process's output for polling.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// running is a gorae process started in the background.
type running struct {
	args []string
	out  *lockedBuffer // stdout and stderr
	done chan struct{}
	code int
}

// start runs gorae with args in dir in the background; the test kills it
// if it is still running at the end.
func start(t *testing.T, g *testutil.Gorae, dir string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, g.Bin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GORAE_ROOT="+g.Root), g.Env...)
	r := &running{args: args, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		cmd.Wait()
		r.code = cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// wait waits for r to exit 0.
func (r *running) wait(t *testing.T) string {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("gorae %s did not finish within 2 minutes:\n%s", strings.Join(r.args, " "), r.out)
	}
	if r.code != 0 {
		t.Fatalf("gorae %s: exit %d\n%s", strings.Join(r.args, " "), r.code, r.out)
	}
	return r.out.String()
}

// stepLine returns the line in the plain block of the step containing
// instr that starts with status ("CACHED", "WAITING"), "#N " cut off,
// or "".
func stepLine(out, instr, status string) string {
	for _, s := range plainSteps(out) {
		if !strings.Contains(s.name, instr) {
			continue
		}
		for _, l := range s.lines {
			if strings.HasPrefix(l, status) {
				return l
			}
		}
	}
	return ""
}

// TestConcurrentBuildsShareWork: three builds on one root start together;
// two have the same Dockerfile, the third shares only its COPY and first
// RUN. The first RUN executes once: the two builds that do not run it
// wait for the one that does and reuse its layer, so the two same builds
// name images with the same manifest digest and all three have the same
// stamp; each build still runs what is its own.
func TestConcurrentBuildsShareWork(t *testing.T) {
	g := newGorae(t)
	gate := gateDir(t, g)
	same := "FROM busybox\nCOPY f /f\n" + gatedRun + "\nRUN echo more > /x\n"
	other := "FROM busybox\nCOPY f /f\n" + gatedRun + "\nRUN echo other > /y\n"
	dirA, dirC := t.TempDir(), t.TempDir()
	testutil.WriteFiles(t, dirA, map[string]string{"Dockerfile": same, "f": "shared\n"})
	testutil.WriteFiles(t, dirC, map[string]string{"Dockerfile": other, "f": "shared\n"})
	meta := t.TempDir()
	outC := filepath.Join(t.TempDir(), "c")

	builds := []*running{
		start(t, g, dirA, "build", "--progress=plain", "-t", "a", "--metadata-file", filepath.Join(meta, "a.json"), "."),
		start(t, g, dirA, "build", "--progress=plain", "-t", "b", "--metadata-file", filepath.Join(meta, "b.json"), "."),
		start(t, g, dirC, "build", "--progress=plain", "--output", "type=local,dest="+outC, "."),
	}
	// The build that claimed the RUN blocks in it until the gate opens,
	// so the two others must come to wait for it.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		waiting := 0
		for _, b := range builds {
			select {
			case <-b.done:
				t.Fatalf("gorae %s ended (exit %d) while the gate was closed:\n%s", strings.Join(b.args, " "), b.code, b.out)
			default:
			}
			if stepLine(b.out.String(), "RUN --mount=type=cache,id=gate", "WAITING") != "" {
				waiting++
			}
		}
		if waiting == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d builds wait for the shared RUN after 2 minutes, want 2", waiting)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(gate, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	executed := 0
	for _, b := range builds {
		out := b.wait(t)
		waited := stepLine(out, "RUN --mount=type=cache,id=gate", "WAITING") != ""
		cached := stepLine(out, "RUN --mount=type=cache,id=gate", "CACHED") != ""
		if waited != cached {
			t.Errorf("gorae %s: a build that waited must reuse the result (waited %v, cached %v):\n%s", strings.Join(b.args, " "), waited, cached, out)
		}
		if !cached {
			executed++
		}
	}
	if executed != 1 {
		t.Errorf("the shared RUN executed in %d builds, want 1", executed)
	}

	digest := func(name string) string {
		var m map[string]any
		b, err := os.ReadFile(filepath.Join(meta, name))
		if err != nil || json.Unmarshal(b, &m) != nil {
			t.Fatalf("metadata %s: %v: %s", name, err, b)
		}
		d, _ := m["containerimage.digest"].(string)
		return d
	}
	if da, db := digest("a.json"), digest("b.json"); da == "" || da != db {
		t.Errorf("same Dockerfile built concurrently: manifest digests %q and %q, want one (the RUN ran twice?)", da, db)
	}

	// The stamp is the one RUN's: the other Dockerfile's image has it too.
	outA := filepath.Join(t.TempDir(), "a")
	r := g.Must(t, dirA, "build", "--progress=plain", "--output", "type=local,dest="+outA, ".")
	if stepLine(r.Stderr, "RUN echo more", "CACHED") == "" {
		t.Errorf("a rebuild after the concurrent builds is not cached:\n%s", r.Stderr)
	}
	stampA, errA := os.ReadFile(filepath.Join(outA, "stamp"))
	stampC, errC := os.ReadFile(filepath.Join(outC, "stamp"))
	if errA != nil || errC != nil || len(stampA) < 10 || !bytes.Equal(stampA, stampC) {
		t.Errorf("stamps %q (%v) and %q (%v), want one", stampA, errA, stampC, errC)
	}
	if y, err := os.ReadFile(filepath.Join(outC, "y")); err != nil || string(y) != "other\n" {
		t.Errorf("the third build's own RUN: /y = %q, %v", y, err)
	}
	if _, err := os.Stat(filepath.Join(outC, "x")); err == nil {
		t.Error("the third build has the other Dockerfile's /x")
	}
}

// TestKilledClaimHolderDoesNotBlock: a build SIGKILLed while it executes
// a step (holding that step's claim) leaves the claim free: the kernel
// drops its flock, and the next build executes the step at once.
func TestKilledClaimHolderDoesNotBlock(t *testing.T) {
	g := newGorae(t)
	gate := gateDir(t, g)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\n" + gatedRun + "\n"})
	started := filepath.Join(gate, "started")
	killWhen(t, g, dir, "RUN", func() bool {
		_, err := os.Stat(started)
		return err == nil
	})

	locks, err := os.ReadDir(filepath.Join(g.Root, "locks"))
	if err != nil || len(locks) == 0 {
		t.Fatalf("the killed build left no step lock (%v): did it claim the RUN?", err)
	}
	for _, l := range locks {
		f, err := os.Open(filepath.Join(g.Root, "locks", l.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			t.Errorf("step lock %s is still held after its build was killed: %v", l.Name(), err)
		}
		f.Close()
	}

	os.Remove(started)
	if err := os.WriteFile(filepath.Join(gate, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := start(t, g, dir, "build", "--progress=plain", ".").wait(t)
	if l := stepLine(out, "RUN --mount", "WAITING"); l != "" {
		t.Errorf("the next build waited for the killed one: %q", l)
	}
	if l := stepLine(out, "RUN --mount", "CACHED"); l != "" {
		t.Errorf("the killed build's RUN was reused: %q", l)
	}
	if _, err := os.Stat(started); err != nil {
		t.Errorf("the next build did not execute the RUN: %v", err)
	}
	g.Must(t, dir, "prune")
	if ents, _ := os.ReadDir(filepath.Join(g.Root, "locks")); len(ents) > 0 {
		t.Errorf("prune left the step locks %v", ents)
	}
}

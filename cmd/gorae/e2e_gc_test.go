package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorae/gorae/internal/testutil"
)

// gcContext writes a context whose image holds size random bytes twice:
// COPY rnd, then RUN cp (so a chain is unpacked and one committed).
func gcContext(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	rnd := make([]byte, size)
	rand.Read(rnd)
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY rnd /rnd\nRUN cp /rnd /copy\n",
		"rnd":        string(rnd),
	})
	return dir
}

// layerBlobs returns the blob paths of an image's layers.
func layerBlobs(t *testing.T, g *testutil.Gorae, name string) []string {
	t.Helper()
	var out struct {
		Manifest struct {
			Layers []struct{ Digest string }
		}
	}
	if err := json.Unmarshal([]byte(g.Must(t, ".", "inspect", name).Stdout), &out); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, l := range out.Manifest.Layers {
		paths = append(paths, filepath.Join(g.Root, "content", "blobs", "sha256", strings.TrimPrefix(l.Digest, "sha256:")))
	}
	return paths
}

// duLine reads a size line of `gorae du` ("total", "build cache"), in
// bytes (to 0.1 of a unit).
func duLine(t *testing.T, g *testutil.Gorae, label string) int64 {
	t.Helper()
	r := g.Must(t, ".", "du")
	for _, line := range strings.Split(r.Stdout, "\n") {
		rest, ok := strings.CutPrefix(line, label+" ")
		f := strings.Fields(rest)
		if ok && len(f) >= 2 {
			v, err := strconv.ParseFloat(f[0], 64)
			mult := map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[f[1]]
			if err == nil && mult > 0 {
				return int64(v * mult)
			}
		}
	}
	t.Fatalf("no %s line in gorae du output:\n%s", label, r.Stdout)
	return 0
}

// assertCached rebuilds dir as name and fails unless every step was cached.
func assertCached(t *testing.T, g *testutil.Gorae, dir, name string) {
	t.Helper()
	r := g.Must(t, dir, "build", "--progress=plain", "-t", name, ".")
	for _, step := range []string{"COPY rnd /rnd", "RUN cp /rnd /copy"} {
		if !cached(r.Stderr, step) {
			t.Errorf("rebuild of %s: %q was not cached:\n%s", name, step, r.Stderr)
		}
	}
}

// TestPruneKeepStorage: after rmi of the oldest of three images,
// --keep-storage a little below the build cache removes that image's
// cache (its blobs go) and keeps the newer ones whole: they rebuild fully
// cached. --filter until=1h then removes nothing.
func TestPruneKeepStorage(t *testing.T) {
	g := newGorae(t)
	const size = 2 << 20
	dirs := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		dirs[name] = gcContext(t, size)
		g.Must(t, dirs[name], "build", "-q", "-t", name, ".")
	}
	aBlobs := layerBlobs(t, g, "a")
	g.Must(t, ".", "rmi", "a")
	total, cache := duLine(t, g, "total"), duLine(t, g, "build cache")
	if cache >= total || cache < 8_000_000 {
		t.Errorf("du: build cache %d of total %d; want less (images' blobs do not count), but at least the 8 MB of unpacked layers", cache, total)
	}
	// The images' blobs (b and c: 8 MB) do not count: a keep-storage
	// below the build cache but above what is left removes only a's data.
	r := g.Must(t, ".", "prune", "--keep-storage", strconv.FormatInt(cache-3_000_000, 10))
	if !strings.Contains(r.Stdout, "Total reclaimed space: ") || strings.Contains(r.Stdout, "space: 0 B") {
		t.Errorf("prune --keep-storage freed nothing:\n%s", r.Stdout)
	}
	for _, p := range aBlobs[1:] { // [0] is busybox's, which b and c need
		if _, err := os.Stat(p); err == nil {
			t.Errorf("blob %s of the removed image a is still there", filepath.Base(p))
		}
	}
	for _, name := range []string{"b", "c"} {
		for _, p := range layerBlobs(t, g, name) {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("blob of named image %s is gone: %v", name, err)
			}
		}
		assertCached(t, g, dirs[name], name)
	}

	r = g.Must(t, ".", "prune", "--filter", "until=1h")
	if !strings.Contains(r.Stdout, "Total reclaimed space: 0 B") {
		t.Errorf("prune --filter until=1h removed fresh data:\n%s", r.Stdout)
	}
	assertCached(t, g, dirs["c"], "c")

	r = g.Must(t, ".", "du", "-v")
	for _, kind := range []string{"blobs", "snapshots", "cache mounts", "cache records", "explain records", "total", "build cache", "reclaimable"} {
		if !strings.Contains(r.Stdout, kind) {
			t.Errorf("gorae du does not show %q:\n%s", kind, r.Stdout)
		}
	}
}

func TestPruneBadFlags(t *testing.T) {
	g := newGorae(t)
	for _, tc := range []struct{ args, want string }{
		{"--keep-storage 10XB", "--keep-storage"},
		{"--filter until=soon", "--filter"},
		{"--filter label=x", "--filter"},
	} {
		r := g.Run(t, ".", append([]string{"prune"}, strings.Fields(tc.args)...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("prune %s: exit %d, stderr %q; want exit 2 naming %s", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
}

// TestAutoGC: with a tiny GORAE_GC_BUDGET every build ends with a
// collection, which leaves the named images whole: they save, and build
// again.
func TestAutoGC(t *testing.T) {
	g := newGorae(t)
	g.Env = []string{"GORAE_GC_BUDGET=1kB"}
	a, b := gcContext(t, 100<<10), gcContext(t, 100<<10)
	g.Must(t, a, "build", "-q", "-t", "a", ".")
	r := g.Must(t, b, "build", "--progress=plain", "-t", "b", ".")
	if !strings.Contains(r.Stderr, "gc: freed ") || !strings.Contains(r.Stderr, "(budget 1.0 kB)") {
		t.Errorf("no automatic GC line after the build:\n%s", r.Stderr)
	}
	for _, name := range []string{"a", "b", "busybox"} {
		g.Must(t, ".", "save", "-o", filepath.Join(t.TempDir(), name+".tar"), name)
	}
	g.Must(t, a, "build", "-q", "-t", "a", ".")

	g.Env = []string{"GORAE_GC_BUDGET=off"}
	r = g.Must(t, b, "build", "--progress=plain", "-t", "b", ".")
	if strings.Contains(r.Stderr, "gc: freed") {
		t.Errorf("GORAE_GC_BUDGET=off still collected:\n%s", r.Stderr)
	}
}

// TestKillLeavesRootUsable kills gorae with SIGKILL during a large COPY
// and again during a RUN; the root stays usable: no lock is left held,
// the killed RUN's overlay mount and snapshot go at the next start, and
// the next build gives what a clean build gives.
func TestKillLeavesRootUsable(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nCOPY big /big\n" +
		"RUN --mount=type=bind,target=/ctx sh -c 'while [ ! -e /ctx/go ]; do sleep 0.1; done; wc -c < /big > /done'\n"})
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 512<<20); err != nil { // sparse: about a second to compress
		t.Fatal(err)
	}
	killWhen(t, g, dir, "COPY", func() bool { return tmpHasFile(g.Root) })

	rnd := make([]byte, 64<<10)
	rand.Read(rnd)
	if err := os.WriteFile(big, rnd, 0o644); err != nil {
		t.Fatal(err)
	}
	active := filepath.Join(g.Root, "snapshots", "active")
	killWhen(t, g, dir, "RUN", func() bool { return len(mountsUnder(active)) > 0 })
	t.Logf("mounts left by the killed RUN: %v", mountsUnder(active))

	f, err := os.Open(filepath.Join(g.Root, "gc.lock"))
	if err != nil {
		t.Fatal(err)
	}
	// A sandbox init killed between its fork and its exec still held a
	// copy of gorae's descriptors; the kernel releases the lock once it
	// is gone, a moment after gorae.
	for wait := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if time.Now().After(wait) {
			t.Errorf("gc.lock is still held 5 s after gorae was killed: %v", err)
			break
		}
	}
	f.Close()

	g.Must(t, dir, "du")
	if m := mountsUnder(active); len(m) > 0 {
		t.Errorf("overlay mounts of the killed build are still mounted: %v", m)
	}
	if ents, _ := os.ReadDir(active); len(ents) > 0 {
		t.Errorf("active snapshots of the killed build are left: %v", ents)
	}

	testutil.WriteFiles(t, dir, map[string]string{"go": ""})
	out := filepath.Join(t.TempDir(), "out")
	g.Must(t, dir, "build", "-q", "-t", "k", "--output", "type=local,dest="+out, ".")
	g.Must(t, dir, "prune")
	g.Must(t, dir, "du")
	if ents, _ := os.ReadDir(filepath.Join(g.Root, "tmp")); len(ents) > 0 {
		t.Errorf("tmp/ still holds %v", ents)
	}

	clean := newGorae(t)
	cleanOut := filepath.Join(t.TempDir(), "out")
	clean.Must(t, dir, "build", "-q", "--output", "type=local,dest="+cleanOut, ".")
	for _, p := range []string{"big", "done"} {
		got, err1 := os.ReadFile(filepath.Join(out, p))
		want, err2 := os.ReadFile(filepath.Join(cleanOut, p))
		if err1 != nil || err2 != nil || string(got) != string(want) {
			t.Errorf("/%s after the kills differs from a clean build's (%v, %v)", p, err1, err2)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "done")); strings.TrimSpace(string(b)) != fmt.Sprint(len(rnd)) {
		t.Errorf("/done = %q, want %d", b, len(rnd))
	}
}

// killWhen starts a build of dir and SIGKILLs it once ready reports true.
func killWhen(t *testing.T, g *testutil.Gorae, dir, phase string, ready func() bool) {
	t.Helper()
	cmd := exec.Command(g.Bin, "build", "-q", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GORAE_ROOT="+g.Root)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(time.Minute)
	for !ready() {
		select {
		case err := <-exited:
			t.Fatalf("gorae ended (%v) before it reached the %s", err, phase)
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("gorae did not reach the %s within a minute", phase)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// tmpHasFile reports whether a gorae process is writing a blob (a COPY's
// layer) under tmp/.
func tmpHasFile(root string) bool {
	found := false
	filepath.WalkDir(filepath.Join(root, "tmp"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasPrefix(d.Name(), "blob-") {
			if fi, err := d.Info(); err == nil && fi.Size() > 0 {
				found = true
			}
		}
		return nil
	})
	return found
}

// mountsUnder lists this mount namespace's mount points under dir.
func mountsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, f[4])
		}
	}
	return out
}

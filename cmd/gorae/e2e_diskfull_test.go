package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/internal/testutil"
)

// diskFullGorae returns a gorae whose root is a fresh 32 MiB tmpfs holding
// the busybox image. The mount point is named "<pid>-tmpfs" so that
// testutil.CheckLeaks reports it if the cleanup ever fails to unmount it.
func diskFullGorae(t *testing.T) *testutil.Gorae {
	t.Helper()
	requireRoot(t)
	if testing.Short() {
		t.Skip("end-to-end test (runs the gorae binary)")
	}
	g := &testutil.Gorae{Bin: goraeBin, Root: tmpfs(t, "32m")}
	g.Must(t, ".", "import", "-c", `CMD ["sh"]`, testutil.BusyboxTar(t), "busybox")
	return g
}

// tmpfs mounts a fresh tmpfs of size for the test and returns its path.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), strconv.Itoa(os.Getpid())+"-tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs to fill: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount the test's tmpfs: %v", err)
			unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	return dir
}

// TestDiskFull fills the store's filesystem from a RUN, from a RUN's
// layer and from a COPY: each build fails with exit 1 and an error that
// names the step and says the disk is full, and leaves the store as it
// was, so that a small build still works without deleting anything.
func TestDiskFull(t *testing.T) {
	g := diskFullGorae(t)
	cases := []struct {
		name, dockerfile, line string
		hint                   string         // what the error tells the user to do
		files                  map[string]int // context files of N random bytes
	}{
		{
			name:       "RUN writes too much",
			dockerfile: "FROM busybox\nRUN dd if=/dev/zero of=/big bs=1M count=200\n",
			line:       "Dockerfile:2",
			hint:       "is full (0 B free of",
		},
		{
			// The command hides ENOSPC behind its own message and exit 1.
			name:       "RUN fails with its own error",
			dockerfile: "FROM busybox\nRUN dd if=/dev/zero of=/big bs=1M count=200 2>/dev/null || { echo 'saving failed' >&2; exit 1; }\n",
			line:       "Dockerfile:2",
			hint:       "saving failed\nno space left on device: the filesystem of the gorae root",
		},
		{
			// The command succeeds; writing its (incompressible) layer
			// into the content store is what runs out of space.
			name:       "RUN layer too big",
			dockerfile: "FROM busybox\nRUN head -c 40000000 /dev/urandom > /big || true\n",
			line:       "Dockerfile:2: write RUN layer",
			hint:       "free space (gorae prune, or gorae prune --all)",
		},
		{
			name:       "COPY of a file bigger than the free space",
			dockerfile: "FROM busybox\nCOPY big /big\n",
			line:       "Dockerfile:2: copy /big",
			hint:       "free space (gorae prune, or gorae prune --all)",
			files:      map[string]int{"big": 40 << 20},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": c.dockerfile})
			for name, size := range c.files {
				writeRandom(t, filepath.Join(dir, name), size)
			}
			r := g.Run(t, dir, "build", "--progress=plain", "-t", "full", ".")
			if r.Code != 1 {
				t.Fatalf("build exit %d, want 1\nstderr:\n%s", r.Code, r.Stderr)
			}
			if !strings.Contains(strings.ToLower(r.Stderr), "no space left on device") || !strings.Contains(r.Stderr, c.line) ||
				!strings.Contains(r.Stderr, c.hint) || !strings.Contains(r.Stderr, "gorae prune") {
				t.Errorf("error does not say the disk is full at %s (and %q):\n%s", c.line, c.hint, r.Stderr)
			}
			t.Logf("gorae build said:\n%s", r.Stderr)
			checkStoreIntact(t, g)
		})
	}
}

// checkStoreIntact checks that a failed build left no snapshot and no
// temporary file, and that the store still works: it lists busybox and
// builds on it.
func checkStoreIntact(t *testing.T, g *testutil.Gorae) {
	t.Helper()
	for _, d := range []string{"snapshots/active", "tmp"} {
		ents, err := os.ReadDir(filepath.Join(g.Root, d))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range ents {
			t.Errorf("left behind in the store: %s/%s", d, e.Name())
		}
	}
	if r := g.Must(t, ".", "images"); !strings.Contains(r.Stdout, "busybox") {
		t.Errorf("gorae images no longer lists busybox:\n%s", r.Stdout)
	}
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo ok > /ok\n"})
	out := filepath.Join(t.TempDir(), "rootfs")
	g.Must(t, dir, "build", "-q", "--no-cache", "--output", "type=local,dest="+out, ".")
	if b, err := os.ReadFile(filepath.Join(out, "ok")); err != nil || string(b) != "ok\n" {
		t.Errorf("small build after the failure: /ok = %q, %v", b, err)
	}
}

func writeRandom(t *testing.T, p string, size int) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.Reader, int64(size)); err != nil {
		t.Fatal(fmt.Errorf("write %s: %w", p, err))
	}
}

// TestDiskFullExport: an --output that does not fit on its filesystem
// fails with exit 1, names that filesystem (not the gorae root, whose
// prune would not help) and leaves no partial file there.
func TestDiskFullExport(t *testing.T) {
	g := diskFullGorae(t)
	small := tmpfs(t, "1m")
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN head -c 3000000 /dev/urandom > /rand\n"})
	for _, out := range []string{"type=tar,dest=" + small + "/rootfs.tar", "type=oci,dest=" + small + "/image.tar", "type=local,dest=" + small + "/rootfs"} {
		r := g.Run(t, dir, "build", "--progress=plain", "--output", out, ".")
		if r.Code != 1 || !strings.Contains(r.Stderr, "no space left on device") ||
			!strings.Contains(r.Stderr, "the filesystem of "+small+" ran out of space") || !strings.Contains(r.Stderr, "free space there") {
			t.Errorf("--output %s on a full filesystem: exit %d, want 1 and an error naming %s:\n%s", out, r.Code, small, r.Stderr)
		}
		t.Logf("--output %s said:\n%s", out, r.Stderr)
		if ents, _ := os.ReadDir(small); len(ents) != 0 {
			t.Errorf("--output %s left %v", out, ents)
		}
	}
	checkStoreIntact(t, g)
}

// TestDiskFullPush: a build --push on a root with no space left, its
// steps cached, says the root is full and how to free it, as does a
// load; a push of a stored image only reads and works; once space is
// freed, the build works.
func TestDiskFullPush(t *testing.T) {
	g := diskFullGorae(t)
	reg := testutil.Registry(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo v1 > /v\n"})
	g.Must(t, dir, "build", "-q", "-t", "app", "-t", reg+"/app:0", ".")
	filler := filepath.Join(g.Root, "filler")
	fill(t, filler)
	r := g.Run(t, dir, "build", "--progress=plain", "--push", "-t", reg+"/app:1", ".")
	t.Logf("build --push on a full root said:\n%s", r.Stderr)
	if r.Code != 1 || !strings.Contains(r.Stderr, "no space left on device") || !strings.Contains(r.Stderr, "gorae prune") {
		t.Errorf("build --push on a full root: exit %d, want 1 and a disk-full error:\n%s", r.Code, r.Stderr)
	}
	// A push of a stored image only reads the root.
	g.Must(t, dir, "push", reg+"/app:0")
	// Loading an image writes to it.
	saved := filepath.Join(t.TempDir(), "app.tar")
	os.Remove(filler)
	g.Must(t, dir, "save", "-o", saved, "app")
	g.Must(t, dir, "rmi", "app")
	g.Must(t, dir, "prune", "--all", "-f")
	fill(t, filler)
	r = g.Run(t, dir, "load", "-i", saved)
	if r.Code != 1 || !strings.Contains(r.Stderr, "no space left on device") || !strings.Contains(r.Stderr, "gorae prune") {
		t.Errorf("load on a full root: exit %d, want 1 and a disk-full error:\n%s", r.Code, r.Stderr)
	}
	t.Logf("load on a full root said:\n%s", r.Stderr)
	os.Remove(filler)
	g.Must(t, dir, "build", "--progress=plain", "--push", "-t", reg+"/app:1", ".")
	checkStoreIntact(t, g)
}

// fill writes p until its filesystem has no space left.
func fill(t *testing.T, p string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<16)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
}

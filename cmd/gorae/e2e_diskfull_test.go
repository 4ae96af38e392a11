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
	root := filepath.Join(t.TempDir(), strconv.Itoa(os.Getpid())+"-tmpfs")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=32m,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs to fill: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(root, 0); err != nil {
			t.Errorf("unmount the test's tmpfs: %v", err)
			unix.Unmount(root, unix.MNT_DETACH)
		}
	})
	g := &testutil.Gorae{Bin: goraeBin, Root: root}
	g.Must(t, ".", "import", "-c", `CMD ["sh"]`, testutil.BusyboxTar(t), "busybox")
	return g
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
			// The command's own error, in its output.
		},
		{
			// The command succeeds; writing its (incompressible) layer
			// into the content store is what runs out of space.
			name:       "RUN layer too big",
			dockerfile: "FROM busybox\nRUN head -c 40000000 /dev/urandom > /big || true\n",
			line:       "Dockerfile:2: write RUN layer",
			hint:       "is full; free space (gorae prune)",
		},
		{
			name:       "COPY of a file bigger than the free space",
			dockerfile: "FROM busybox\nCOPY big /big\n",
			line:       "Dockerfile:2: copy /big",
			hint:       "is full; free space (gorae prune)",
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
			if !strings.Contains(strings.ToLower(r.Stderr), "no space left on device") || !strings.Contains(r.Stderr, c.line) || !strings.Contains(r.Stderr, c.hint) {
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

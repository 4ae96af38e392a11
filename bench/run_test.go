// Package bench holds gorae's Go benchmarks, measured with
//
//	go test -run '^$' -bench . ./bench/
//
// and the scripts that compare gorae with BuildKit (compare.sh,
// compare-image.sh). Targets come from the issues; figures go in the
// closing notes, never in timed tests.
package bench

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/runner"
	"github.com/gorae/gorae/snapshot"
)

func TestMain(m *testing.M) {
	// The sandbox init is this test binary, re-executed.
	if runner.Main() {
		return
	}
	os.Exit(m.Run())
}

// busyboxRoot makes a root file system holding only Debian's static
// busybox and the applets the benchmarks use.
func busyboxRoot(b *testing.B) string {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("the sandbox needs root")
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		b.Skipf("needs Debian's busybox-static at /bin/busybox: %v", err)
	}
	root := filepath.Join(b.TempDir(), "rootfs")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), bb, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, a := range []string{"sh", "true"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			b.Fatal(err)
		}
	}
	return root
}

// BenchmarkRunTrue is `RUN true` from start to exit in the sandbox:
// re-exec, namespaces, pivot_root, /proc, /dev, capabilities, seccomp,
// exec and reap. Target (issue 4): ≤ 30 ms median.
func BenchmarkRunTrue(b *testing.B) {
	root := busyboxRoot(b)
	r := runner.Runner{Init: "/proc/self/exe"}
	ctx := context.Background()
	for b.Loop() {
		if err := r.Run(ctx, runner.Process{Rootfs: root, Args: []string{"/bin/true"}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunStepTrue is what a RUN step costs beyond its command: an
// overlay snapshot over the unpacked base, the sandbox, an (empty) diff
// and the snapshot's removal.
func BenchmarkRunStepTrue(b *testing.B) {
	base := busyboxRoot(b)
	store, err := snapshot.Open(filepath.Join(b.TempDir(), "snapshots"))
	if err != nil {
		b.Fatal(err)
	}
	r := runner.Runner{Init: "/proc/self/exe"}
	ctx := context.Background()
	for b.Loop() {
		act, err := store.Prepare(ctx, []string{base})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Run(ctx, runner.Process{Rootfs: act.Merged, Args: []string{"/bin/true"}}); err != nil {
			b.Fatal(err)
		}
		if _, err := act.Diff(ctx, archive.NewWriter(io.Discard, archive.WriterOptions{}), runner.CreatedPaths()); err != nil {
			b.Fatal(err)
		}
		if err := act.Remove(); err != nil {
			b.Fatal(err)
		}
	}
}

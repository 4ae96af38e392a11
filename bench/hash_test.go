package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorae/gorae/cache"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/ops"
)

// makeContext writes a build context of 20,000 files and about 200 MB:
// 20,000 files of 8 KiB in 100 directories plus two 20 MiB files, like
// the shared bench's context case.
func makeContext(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "ctx")
	small := make([]byte, 8<<10)
	for d := range 100 {
		sub := filepath.Join(dir, "src", fmt.Sprintf("d%03d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 200 {
			rand.Read(small)
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d.txt", f)), small, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	big := make([]byte, 20<<20)
	for i := range 2 {
		rand.Read(big)
		if err := os.WriteFile(filepath.Join(dir, "src", fmt.Sprintf("big%d.bin", i)), big, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	// The stat cache refuses entries of files changed in the last 2 s
	// (they could change again within the clock's resolution).
	time.Sleep(2100 * time.Millisecond)
	return dir
}

// copyKey computes the cache key of `COPY src/ /data/` the way a build
// does: a fresh Env and a stat cache loaded from disk, as in a new
// gorae process.
func copyKey(ctx context.Context, statDir, tmp, dir string) (string, error) {
	st, err := cache.OpenStats(statDir, tmp, dir)
	if err != nil {
		return "", err
	}
	env := &ops.Env{Contexts: map[string]string{"context": dir}, Stats: map[string]*cache.Stats{"context": st}, Tmp: tmp}
	defer env.Close()
	c := &graph.Node{Op: graph.Context{Name: "context"}}
	n := &graph.Node{
		Op:     graph.Copy{Sources: []graph.Source{{Input: 1, Path: "src/"}}, Dest: "/data/"},
		Inputs: []*graph.Node{{Op: graph.Scratch{}}, c},
	}
	vs, err := env.Vertices([]*graph.Node{n})
	if err != nil {
		return "", err
	}
	k, err := vs[0].Op.CacheKey(ctx)
	if err != nil {
		return "", err
	}
	return k.String(), st.Save()
}

// BenchmarkHashContextWarm is the context check of a warm rebuild: 20,000
// files / 200 MB, every file a stat cache hit, so nothing is read but
// directory entries and inode metadata. Target (issue 5): ≤ 50 ms.
func BenchmarkHashContextWarm(b *testing.B) {
	dir := makeContext(b)
	statDir, tmp := filepath.Join(b.TempDir(), "statcache"), b.TempDir()
	ctx := context.Background()
	want, err := copyKey(ctx, statDir, tmp, dir) // cold: reads every file
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := copyKey(ctx, statDir, tmp, dir)
		if err != nil {
			b.Fatal(err)
		}
		if got != want {
			b.Fatalf("warm key %s differs from cold %s", got, want)
		}
	}
}

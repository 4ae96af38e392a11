package bench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gorae/gorae/cache"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/ops"
)

// keyWithStats computes the key of `COPY src/ /data/` over a stat cache
// already in memory (loading and saving it cost the same with and
// without the recorder, and their noise would hide the difference),
// with or without the --explain key recorder that every build runs. It
// returns the recorded source, nil without the recorder.
func keyWithStats(ctx context.Context, st *cache.Stats, tmp, dir string, record bool) (string, *ops.SourceDigest, error) {
	env := &ops.Env{Contexts: map[string]string{"context": dir}, Stats: map[string]*cache.Stats{"context": st}, Tmp: tmp}
	defer env.Close()
	c := &graph.Node{Op: graph.Context{Name: "context"}}
	n := &graph.Node{
		Op:     graph.Copy{Sources: []graph.Source{{Input: 1, Path: "src/"}}, Dest: "/data/"},
		Inputs: []*graph.Node{{Op: graph.Scratch{}}, c},
	}
	roots := []*graph.Node{n}
	vs, err := env.Vertices(roots)
	if err != nil {
		return "", nil, err
	}
	rec := ops.NewKeyRecorder()
	if record {
		rec.Wrap(roots, vs)
	}
	k, err := vs[0].Op.CacheKey(ctx)
	if err != nil {
		return "", nil, err
	}
	sk, ok := rec.Step(n)
	if !ok {
		return k.String(), nil, nil
	}
	return k.String(), sk.Sources[0], nil
}

// BenchmarkHashContextWarmExplain compares a warm context check of
// 20,000 files without and with the --explain recorder (issue 5 item 6:
// the recorder may add at most 2 ms). The recorded key must equal the
// plain one.
func BenchmarkHashContextWarmExplain(b *testing.B) {
	dir := makeContext(b)
	statDir, tmp := filepath.Join(b.TempDir(), "statcache"), b.TempDir()
	ctx := context.Background()
	want, err := copyKey(ctx, statDir, tmp, dir) // cold: reads every file
	if err != nil {
		b.Fatal(err)
	}
	st, err := cache.OpenStats(statDir, tmp, dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, record := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "recorded"}[record], func(b *testing.B) {
			for b.Loop() {
				if got, _, err := keyWithStats(ctx, st, tmp, dir, record); err != nil || got != want {
					b.Fatalf("key %s, %v; want %s", got, err, want)
				}
			}
		})
	}
	_, src, err := keyWithStats(ctx, st, tmp, dir, true)
	if err != nil || src == nil || len(src.Files()) != 20000+2+100+1 {
		b.Fatalf("recorded %v files, %v; want every file and directory", src, err)
	}
}

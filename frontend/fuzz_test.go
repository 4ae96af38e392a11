package frontend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/imageconfig"
)

// fuzzResolver knows the golden tests' images and answers any other
// name with a plain config, so that conversion goes past FROM.
type fuzzResolver struct{ fakeResolver }

func (r *fuzzResolver) Resolve(ctx context.Context, ref string, p v1.Platform) (*ResolvedImage, error) {
	if img, err := r.fakeResolver.Resolve(ctx, ref, p); err == nil {
		return img, nil
	}
	cfg := &imageconfig.File{OS: p.OS, Architecture: p.Architecture}
	cfg.RootFS.Type = "layers"
	cfg.Config.Env = []string{fakePath}
	sum := sha256.Sum256([]byte(ref))
	return &ResolvedImage{Ref: ref, Digest: "sha256:" + hex.EncodeToString(sum[:]), Config: cfg}, nil
}

// FuzzConvert parses and converts any Dockerfile, with build args and a
// target: it must return a graph or an error, never panic, and the graph
// must be well formed (every node has a digest; its dump renders).
func FuzzConvert(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, file := range files {
		dt, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		a := parseTxtar(string(dt))
		df, _ := a.get("Dockerfile")
		args, _ := a.get("args")
		f.Add(df, args, "")
	}
	f.Fuzz(func(t *testing.T, dockerfile, args, target string) {
		if len(dockerfile) > 64<<10 {
			t.Skip("larger than any Dockerfile worth the time")
		}
		o := Options{
			File:          "Dockerfile",
			Source:        []byte(dockerfile),
			Target:        target,
			Platform:      v1.Platform{OS: "linux", Architecture: "amd64"},
			BuildPlatform: v1.Platform{OS: "linux", Architecture: "amd64"},
			Resolver:      &fuzzResolver{},
			Warn:          func(Warning) {},
		}
		for line := range strings.SplitSeq(args, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && k != "" {
				if o.BuildArgs == nil {
					o.BuildArgs = map[string]string{}
				}
				o.BuildArgs[k] = v
			}
		}
		res, err := Convert(context.Background(), o)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if res.Root == nil {
			t.Fatal("no error and no root node")
		}
		err = graph.Walk([]*graph.Node{res.Root}, func(n *graph.Node) error {
			if n.Digest() == "" {
				t.Errorf("node %q has no digest", n.Name)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		Dump(res)
	})
}

package builder

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/imageconfig"
	"github.com/gorae/gorae/progress"
)

type fakeResolver struct{ err error }

func (f fakeResolver) Resolve(ctx context.Context, ref string, platform v1.Platform) (*frontend.ResolvedImage, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &frontend.ResolvedImage{Ref: ref, Config: &imageconfig.File{}}, nil
}

// TestLoadSteps: reading the Dockerfile and .dockerignore and resolving
// a base image show as BuildKit's [internal] steps in plain progress.
func TestLoadSteps(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "build.Dockerfile"), []byte("FROM busybox\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("*.md\n"), 0o644)
	var buf bytes.Buffer
	p, err := progress.New(&buf, "plain")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{ContextDir: dir, Dockerfile: filepath.Join(dir, "build.Dockerfile"), Progress: p}
	if _, _, _, err := loadDockerfile(o); err != nil {
		t.Fatal(err)
	}
	if _, err := loadExcludes(o); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	newStepResolver(fakeResolver{}, p, false).Resolve(ctx, "busybox", v1.Platform{})
	newStepResolver(fakeResolver{errors.New("no such image\nmore")}, p, false).Resolve(ctx, "localhost:5000/x", v1.Platform{})
	p.Close()
	want := `#1 [internal] load build definition from build.Dockerfile
#1 transferring dockerfile: 13B done
#1 DONE 0.0s

#2 [internal] load .dockerignore
#2 transferring context: 5B done
#2 DONE 0.0s

#3 [internal] load metadata for docker.io/library/busybox:latest
#3 DONE 0.0s

#4 [internal] load metadata for localhost:5000/x:latest
#4 ERROR: no such image
`
	if buf.String() != want {
		t.Errorf("plain:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestTransferSize(t *testing.T) {
	for n, want := range map[int]string{0: "0B", 330: "330B", 1234: "1.23kB", 45_000_000: "45.00MB"} {
		if got := transferSize(n); got != want {
			t.Errorf("transferSize(%d) = %q, want %q", n, got, want)
		}
	}
}

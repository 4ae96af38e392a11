package builder

import (
	"context"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
)

// loadDockerfile reads the Dockerfile as the step BuildKit shows first,
// "[internal] load build definition from NAME".
func loadDockerfile(o Options) ([]byte, string, error) {
	name := "Dockerfile"
	if o.Dockerfile != "" && o.Dockerfile != "-" {
		name = filepath.Base(o.Dockerfile)
	}
	st := o.Progress.Step("[internal] load build definition from " + name)
	b, name, err := readDockerfile(o)
	if err == nil {
		st.Logf("transferring dockerfile: %s done", transferSize(len(b)))
	}
	st.End(err)
	return b, name, err
}

// loadExcludes reads the .dockerignore as the step "[internal] load
// .dockerignore".
func loadExcludes(o Options) ([]string, error) {
	st := o.Progress.Step("[internal] load .dockerignore")
	ex, size, err := readExcludes(o)
	if err == nil {
		st.Logf("transferring context: %s done", transferSize(size))
	}
	st.End(err)
	return ex, err
}

// transferSize is a size as BuildKit's plain progress shows it: "330B",
// "2.05kB".
func transferSize(n int) string {
	return progress.CompactSize(int64(n))
}

// stepResolver shows each base image resolved as the step BuildKit
// shows, "[internal] load metadata for NAME" (a pull's lines go in its
// block). The frontend resolves each name and platform once.
type stepResolver struct {
	frontend.ImageResolver
	p *progress.Printer
}

func (r stepResolver) Resolve(ctx context.Context, ref string, platform v1.Platform) (*frontend.ResolvedImage, error) {
	name, err := registry.Normalize(ref)
	if err != nil {
		name = ref // the resolver says what is wrong with it
	}
	st := r.p.Step("[internal] load metadata for " + name)
	ri, err := r.ImageResolver.Resolve(ctx, ref, platform)
	st.End(err)
	return ri, err
}

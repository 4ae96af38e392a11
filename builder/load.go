package builder

import (
	"path/filepath"

	"github.com/gorae/gorae/progress"
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

package bake

import (
	"context"

	"github.com/gorae/gorae/bakefile"
)

// Result is what building one target produced.
type Result struct {
	// Digest is the image's manifest (or index) digest, "sha256:…".
	Digest string
	// Ref is where a dependent target finds the image: a name in the
	// local store (local builds) or a registry repository (Kubernetes
	// Jobs); Ref@Digest names it exactly.
	Ref string
	// Cached is true when no step executed: every step came from a cache.
	Cached bool
	// Metadata is what --metadata-file holds for the target (buildx's
	// keys: containerimage.digest, image.name, …).
	Metadata map[string]any
}

// Dep is a finished dependency of a target: the context name the target
// uses for it (a contexts key, or the image name a FROM gives) and the
// dependency's result.
type Dep struct {
	Name   string // context name in the dependent target
	Target string // the dependency's target name
	Result Result
}

// Builder builds targets; the scheduler calls Build for a target once all
// its dependencies are built, and Publish for every target that pushes
// (Pushes) only after every target succeeded (--push is all-or-nothing).
type Builder interface {
	Build(ctx context.Context, t *bakefile.Target, deps []Dep) (Result, error)
	Publish(ctx context.Context, t *bakefile.Target, r Result) error
}

package frontend

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/imageconfig"
)

// ResolvedImage is a base image pinned for one build.
type ResolvedImage struct {
	Ref    string            // normalized name, e.g. "docker.io/library/busybox:latest"
	Digest string            // pinned platform manifest digest "sha256:…"
	Config *imageconfig.File // the image's config
}

// ImageResolver pins a FROM / COPY --from image once per build.
type ImageResolver interface {
	Resolve(ctx context.Context, ref string, platform v1.Platform) (*ResolvedImage, error)
}

// Warning is a linter finding or another non-fatal remark about the
// Dockerfile. Rule is "" for warnings that do not come from the linter.
type Warning struct {
	File string
	Line int
	Rule string
	Msg  string
	// URL is the rule's documentation; Lines are the [start, end] line
	// ranges the finding points at (BuildKit prints them as context).
	URL   string
	Lines [][2]int
}

// Options is the input of Convert.
type Options struct {
	File      string            // display name of the Dockerfile, e.g. "Dockerfile"
	Source    []byte            // Dockerfile content
	BuildArgs map[string]string // --build-arg
	Target    string            // --target; "" = last stage
	Platform  v1.Platform       // target platform
	// PlatformImplicit says Platform is the default (no --platform): the
	// image then keeps the final stage's base os/arch, as BuildKit's does
	// for FROM --platform=X.
	PlatformImplicit bool
	BuildPlatform    v1.Platform // platform the build runs on
	// MultiPlatform says Platform is one of several the build makes:
	// step names start with their platform ("[linux/arm64 build 3/5]").
	MultiPlatform bool
	Excludes      []string          // .dockerignore patterns of the main context
	Contexts      map[string]bool   // names given with --build-context
	Labels        map[string]string // --label, applied to the final config
	Resolver      ImageResolver
	Warn          func(Warning) // may be nil
	Run           RunDefaults   // --network, --add-host, --shm-size, --ulimit
	// AllStages converts every stage, not only those the target needs:
	// BuildKit's build checks without --target lint the whole file.
	AllStages bool
}

// RunDefaults are the build-wide settings of every RUN, from the build
// flags, as BuildKit's force-network-mode, add-hosts, shm-size and ulimit
// frontend options.
type RunDefaults struct {
	// Network is the mode of a RUN without --network (or with
	// --network=default): "" or "default" (the sandbox's), none, host.
	Network    string
	ExtraHosts []string // "host=ip", in order
	ShmSize    int64    // bytes of the /dev/shm tmpfs; 0 = the sandbox's 64 MiB
	Ulimits    []string // "name=soft:hard"
}

// HistoryStep is one history entry the Dockerfile adds.
type HistoryStep struct {
	History v1.History
	// Node is, for EmptyLayer == false, the node whose own layer this
	// entry describes; nil otherwise.
	Node *graph.Node
}

// Result is the converted target stage.
type Result struct {
	Stage   string            // name (or index as string) of the target stage
	Root    *graph.Node       // the target stage's final filesystem node
	Config  *imageconfig.File // History = base image history only; RootFS empty
	History []HistoryStep     // entries this Dockerfile adds, in order
	Stages  int               // stages that remain after pruning
	// Names are the names of all the Dockerfile's named stages, in
	// order, pruned or not (what flags such as --no-cache-filter accept).
	Names []string
	// ScanStages are the stages the target needs whose SBOM is asked for
	// too (BUILDKIT_SBOM_SCAN_STAGE=true or a list naming them, as a
	// global or stage arg), in file order; ScanContext says the build
	// context is scanned (BUILDKIT_SBOM_SCAN_CONTEXT).
	ScanStages  []ScanStage
	ScanContext bool
}

// ScanStage is a stage an SBOM also describes.
type ScanStage struct {
	Name string
	Root *graph.Node
}

package attest

import "time"

// BuildType is the buildDefinition.buildType gorae writes: BuildKit's.
// Every field gorae writes under a name BuildKit's definitions use means
// what they say (the Dockerfile frontend's request, its config source,
// its resolved dependencies); what gorae adds has names of its own
// (buildConfig.steps), documented in docs/attestations.md. So a consumer
// of BuildKit's provenance reads gorae's without a special case.
const BuildType = "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md"

// Frontend is externalParameters.request.frontend of a Dockerfile build.
const Frontend = "dockerfile.v0"

// Provenance is a SLSA provenance v1 predicate with BuildKit's
// extensions: the JSON field names, their order and which are left out
// when empty are those of BuildKit's ProvenancePredicateSLSA1.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition is what the build was asked to do, and from what.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	InternalParameters   InternalParameters   `json:"internalParameters"`
}

// ResourceDescriptor is an artifact the build used: a base image (a
// package URL), a git repository or an http(s) file, with its digest.
type ResourceDescriptor struct {
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

// ExternalParameters are the parameters a user controls.
type ExternalParameters struct {
	ConfigSource ConfigSource `json:"configSource"`
	Request      Request      `json:"request"`
}

// ConfigSource is where the Dockerfile came from: a remote context's
// URL and digest, and the Dockerfile's path.
type ConfigSource struct {
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
	Path   string            `json:"path,omitempty"`
}

// Request is the build request as the frontend got it: its options as
// BuildKit names them (build-arg:NAME, label:NAME, target, …), the ids of
// secrets and ssh agents (never their values) and the local sources.
type Request struct {
	Frontend string            `json:"frontend,omitempty"`
	Args     map[string]string `json:"args,omitempty"`
	Secrets  []Secret          `json:"secrets,omitempty"`
	SSH      []Secret          `json:"ssh,omitempty"`
	Locals   []Local           `json:"locals,omitempty"`
}

// Secret is a secret (or ssh agent) a RUN step mounted: its id, and
// whether the step runs without it.
type Secret struct {
	ID       string `json:"id"`
	Optional bool   `json:"optional,omitempty"`
}

// Local is a local source of the build: the context, the Dockerfile, a
// named context directory.
type Local struct {
	Name string `json:"name"`
}

// InternalParameters are the builder's own settings. BuildKit writes
// them with their keys sorted, as these fields are.
type InternalParameters struct {
	BuildConfig       *BuildConfig `json:"buildConfig,omitempty"`
	BuilderPlatform   string       `json:"builderPlatform"`
	DockerfileVersion string       `json:"dockerfileVersion,omitempty"`
	TargetPlatform    string       `json:"targetPlatform,omitempty"`
}

// BuildConfig (mode=max) is the solved build graph. BuildKit writes its
// LLB there (llbDefinition); gorae has none and writes its own steps.
type BuildConfig struct {
	Steps []Step `json:"steps,omitempty"`
	// DigestMapping maps each graph node's digest to its step's id.
	DigestMapping map[string]string `json:"digestMapping,omitempty"`
}

// Step is one node of gorae's build graph (docs/attestations.md).
type Step struct {
	ID string `json:"id"` // "step0", …: inputs come before the steps that use them
	// Op is the node's kind: scratch, image, context, http, git, copy,
	// mkdir or run.
	Op string `json:"op"`
	// Name is the step as the progress shows it, e.g. "[build 2/4] RUN make".
	Name string `json:"name,omitempty"`
	// Inputs are the steps this one reads, as "stepN:0".
	Inputs []string `json:"inputs,omitempty"`
	// Command is a run step's argv.
	Command []string `json:"command,omitempty"`
	// Source is what a source step reads: an image reference, a URL, a
	// context name.
	Source string `json:"source,omitempty"`
	// Digest pins a source: an image manifest, an http file's content,
	// a git commit.
	Digest string `json:"digest,omitempty"`
	// Layer is the layer this step added to the image, when the image
	// has one from it.
	Layer *Descriptor `json:"layer,omitempty"`
}

// RunDetails are about this run of the build.
type RunDetails struct {
	Builder    Builder              `json:"builder"`
	Byproducts []ResourceDescriptor `json:"byproducts,omitempty"`
	Metadata   *Metadata            `json:"metadata,omitempty"`
}

// Builder identifies the builder: --provenance builder-id=.
type Builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// Metadata is SLSA's run metadata plus BuildKit's extension fields.
type Metadata struct {
	InvocationID     string           `json:"invocationId,omitempty"`
	StartedOn        *time.Time       `json:"startedOn,omitempty"`
	FinishedOn       *time.Time       `json:"finishedOn,omitempty"`
	BuildKitMetadata BuildKitMetadata `json:"buildkit_metadata"`
	Hermetic         bool             `json:"buildkit_hermetic,omitempty"`
	Completeness     Completeness     `json:"buildkit_completeness"`
	Reproducible     bool             `json:"buildkit_reproducible,omitempty"`
}

// BuildKitMetadata is BuildKit's buildkit_metadata: version control hints
// and, with mode=max, the Dockerfile and the layers of the steps.
type BuildKitMetadata struct {
	VCS    map[string]string `json:"vcs,omitempty"`
	Source *Source           `json:"source,omitempty"`
	// Layers maps "stepN:0" to the layer chain of that step's result.
	Layers map[string][][]Descriptor `json:"layers,omitempty"`
}

// Source maps steps to the Dockerfile lines that made them (Locations,
// by step id) and holds the Dockerfile itself (Infos).
type Source struct {
	Locations map[string]Locations `json:"locations,omitempty"`
	Infos     []SourceInfo         `json:"infos,omitempty"`
}

// SourceInfo is one source file: the Dockerfile, its bytes base64 in
// JSON as BuildKit's.
type SourceInfo struct {
	Filename string `json:"filename,omitempty"`
	Language string `json:"language,omitempty"`
	Data     []byte `json:"data,omitempty"`
}

// Locations, Location, Range and Position are BuildKit's pb.Locations as
// encoding/json writes them.
type Locations struct {
	Locations []Location `json:"locations,omitempty"`
}

type Location struct {
	SourceIndex int     `json:"sourceIndex,omitempty"`
	Ranges      []Range `json:"ranges,omitempty"`
}

type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

type Position struct {
	Line      int `json:"line,omitempty"`
	Character int `json:"character,omitempty"`
}

// Completeness says whether the request holds every parameter
// (mode=min leaves build args and labels out) and whether the resolved
// dependencies are all there is (a local source is not pinned).
type Completeness struct {
	Request              bool `json:"request"`
	ResolvedDependencies bool `json:"resolvedDependencies"`
}

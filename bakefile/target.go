package bakefile

// Target is one image to build, with the fields and JSON names of buildx's
// bake targets (what `gorae bake --print` shows). Maps of args and labels
// hold plain strings: a variable that resolves to null drops the key.
type Target struct {
	Name             string            `json:"-"`
	Description      string            `json:"description,omitempty"`
	Context          string            `json:"context,omitempty"`
	Contexts         map[string]string `json:"contexts,omitempty"`
	Dockerfile       string            `json:"dockerfile,omitempty"`
	DockerfileInline string            `json:"dockerfile-inline,omitempty"`
	Args             map[string]string `json:"args,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
	Annotations      []string          `json:"annotations,omitempty"`
	Attest           []string          `json:"attest,omitempty"`
	Tags             []string          `json:"tags,omitempty"`
	CacheFrom        []string          `json:"cache-from,omitempty"`
	CacheTo          []string          `json:"cache-to,omitempty"`
	Target           string            `json:"target,omitempty"`
	Secrets          []string          `json:"secret,omitempty"`
	SSH              []string          `json:"ssh,omitempty"`
	Platforms        []string          `json:"platforms,omitempty"`
	Outputs          []string          `json:"output,omitempty"`
	Pull             *bool             `json:"pull,omitempty"`
	NoCache          *bool             `json:"no-cache,omitempty"`
	NoCacheFilter    []string          `json:"no-cache-filter,omitempty"`
	Network          string            `json:"network,omitempty"`
	ShmSize          string            `json:"shm-size,omitempty"`
	Ulimits          []string          `json:"ulimits,omitempty"`
	Entitlements     []string          `json:"entitlements,omitempty"`
	ExtraHosts       []string          `json:"extra-hosts,omitempty"`
}

// Group names targets (or other groups) built together.
type Group struct {
	Name        string   `json:"-"`
	Description string   `json:"description,omitempty"`
	Targets     []string `json:"targets"`
}

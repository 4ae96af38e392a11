package builder

import (
	"io"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/cache"
	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/remotecache"
)

// Options are the settings of one build, as `gorae build` flags give them.
type Options struct {
	// ContextDir is the build context: a directory, a git URL, an
	// http(s) URL of a tarball or StdinContext (see remoteContexts).
	ContextDir string
	// Dockerfile is the Dockerfile's path; "" = ContextDir/Dockerfile,
	// "-" = read from Stdin.
	Dockerfile string
	Stdin      io.Reader
	Tags       []string
	BuildArgs  map[string]string
	Target     string
	// Platforms are the --platform values, each os/arch[/variant] or a
	// comma-separated list of them; none = this machine. Several make an
	// image index (see images.ParsePlatforms).
	Platforms []string
	NoCache   bool
	Pull      bool
	Push      bool
	Outputs   []string          // --output specs
	Labels    map[string]string // --label
	Contexts  map[string]string // --build-context NAME=DIR|git URL|tarball URL|docker-image://REF|oci-layout://DIR
	Registry  registry.Options
	// Compression is gzip (default), zstd or uncompressed.
	Compression string
	Docker      bool // Docker v2s2 media types instead of OCI
	IIDFile     string
	Metadata    string // --metadata-file
	Jobs        int
	// Epoch is SOURCE_DATE_EPOCH; nil = the default epoch (defaultEpoch)
	// unless WallClock (--reproducible=false) keeps the build's clock.
	Epoch     *time.Time
	WallClock bool
	Progress  *progress.Printer
	// Allow lists --allow entitlements: network.host, security.insecure.
	Allow []string
	// CacheTo and CacheFrom are the --cache-to and --cache-from specs
	// (remotecache.ParseTo, ParseFrom); see docs/remote-cache.md.
	CacheTo   []remotecache.Spec
	CacheFrom []remotecache.Spec
	// Secrets are --secret values by id; SSH maps a --ssh id to an ssh
	// agent socket. Neither enters a cache key, a layer or the history.
	Secrets map[string][]byte
	SSH     map[string]string
	// Explain prints, for every step that misses the cache, which part
	// of its key changed since the last build of the same target.
	Explain bool
	// Isolation is the RUN sandbox's: "" (namespaces) or "chroot" (none:
	// RUN steps are not isolated; runner.IsolationChroot).
	Isolation string
	// NoCacheFilter names stages (--no-cache-filter) whose RUN, COPY and
	// ADD steps, and every step after them, execute even when cached;
	// see markNoCache.
	NoCacheFilter []string
	// Run are the build-wide RUN settings: --network, --add-host,
	// --shm-size, --ulimit.
	Run frontend.RunDefaults
	// Annotations are the --annotation values, parsed (ParseAnnotation).
	Annotations []Annotation
	// Attest are the attestations attached to every image (--attest,
	// --provenance, --sbom; attest.Parse): each platform's image gets an
	// attestation manifest, and the result is an index even for one
	// platform. See docs/attestations.md.
	Attest attest.Config
	// VerifyReproducible builds a second time in a fresh temporary root
	// and fails with a NotReproducibleError naming the first difference.
	VerifyReproducible bool
	// Slots, if not nil, are the step slots this build shares with
	// others in the process (gorae bake -j); Jobs is then ignored.
	Slots *semaphore.Weighted
	// NoAutoGC skips the automatic GC after the build: gorae bake runs
	// it once, after every target.
	NoAutoGC bool

	// sharedStats are the first build's context stat caches by directory,
	// for --verify-reproducible's second build: file digests are facts
	// about the context, not build results, so it need not hash it again.
	sharedStats map[string]*cache.Stats
	// notBefore holds every RUN of --verify-reproducible's second build
	// until the wall-clock second after the first build's last RUN ended
	// (ops.Env.NotBefore).
	notBefore time.Time
	// executed is how many steps the solve executed (solver Done
	// events), set before the export: Result.Executed.
	executed int
}

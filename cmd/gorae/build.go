package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gorae/gorae/builder"
	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/remotecache"
	"github.com/gorae/gorae/root"
)

func runBuild(ctx context.Context, args []string) error {
	return build(ctx, args, false)
}

// errNeedsNamespace is a rootless build's cache-only try (buildOutside)
// that found a step to execute, or could not tell: the build runs again,
// whole, in gorae's user namespace.
var errNeedsNamespace = errors.New("the build needs gorae's user namespace")

// buildOutside is a rootless `gorae build`'s first try, before entering
// its user namespace (see docs/rootless.md): when every step is cached it
// is the whole build, at the cost of a rootful one; otherwise nothing of
// it was shown and it returns errNeedsNamespace.
func buildOutside(ctx context.Context, args []string) error {
	return build(ctx, args, true)
}

func build(ctx context.Context, args []string, outside bool) error {
	fs := newFlags("build", "[OPTIONS] CONTEXT")
	tags := fs.StringArrayP("tag", "t", nil, "name the image (repeatable), e.g. -t app:1.0")
	file := fs.StringP("file", "f", "", "Dockerfile path (default CONTEXT/Dockerfile; - reads stdin)")
	buildArgs := fs.StringArray("build-arg", nil, "set a build argument KEY=VALUE (KEY alone takes it from the environment)")
	target := fs.String("target", "", "build this stage (default: the last one)")
	platforms := fs.StringArray("platform", nil, "target platforms os/arch[/variant], comma-separated or repeated; several make one image index (default: this machine)")
	noCache := fs.Bool("no-cache", false, "do not use the build cache")
	noCacheFilter := fs.StringArray("no-cache-filter", nil, "do not use the build cache for these stages' steps: STAGE[,STAGE...] (repeatable)")
	pull := fs.Bool("pull", false, "always ask the registry for base images")
	push := fs.Bool("push", false, "push the image to the registry of every -t name")
	outputs := fs.StringArrayP("output", "o", nil, "also write the image: type=oci|docker|local|tar,dest=PATH, or type=image|registry[,name=NAME][,push=true] (type=docker without dest is --load)")
	labels := fs.StringArray("label", nil, "set an image label KEY=VALUE")
	contexts := fs.StringArray("build-context", nil, "extra build context NAME=DIR|URL|docker-image://REF|oci-layout://DIR (FROM NAME, COPY --from=NAME)")
	insecure := fs.StringArray("insecure-registry", nil, "talk plain HTTP to this registry host[:port]")
	compression := fs.String("compression", "gzip", "layer compression: gzip, zstd or uncompressed")
	ociTypes := fs.Bool("oci-mediatypes", true, "OCI media types (false: Docker v2s2)")
	iid := fs.String("iidfile", "", "write the image digest to this file")
	meta := fs.String("metadata-file", "", "write build metadata (JSON, as buildx) to this file")
	quiet := fs.BoolP("quiet", "q", false, "print only the image digest")
	prog := fs.String("progress", "auto", "progress output: auto, plain, tty, json or quiet")
	explain := fs.Bool("explain", false, "say for every cache miss which part of its key changed since the last build of this target")
	verify := fs.Bool("verify-reproducible", false, "build a second time in a fresh temporary root and fail (exit 1) naming the first difference")
	reproducible := fs.Bool("reproducible", true, "clamp new files' times and set created to SOURCE_DATE_EPOCH, else the context's git commit time, else the base images' newest created (false: the build's clock)")
	jobs := fs.Int("jobs", 0, "steps run at once (default 16; compression uses every CPU)")
	allow := fs.StringArray("allow", nil, "allow an entitlement: network.host or security.insecure")
	isolation := fs.String("isolation", "default", "RUN sandbox: default (namespaces) or chroot (no isolation, for containers that allow no namespace)")
	cacheTo := fs.StringArray("cache-to", nil, "export the build cache (repeatable): type=registry,ref=REF[,mode=min|max], type=local,dest=DIR or type=inline")
	cacheFrom := fs.StringArray("cache-from", nil, "import a build cache (repeatable): REF, type=registry,ref=REF or type=local,src=DIR")
	secrets := fs.StringArray("secret", nil, "secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR (repeatable)")
	sshs := fs.StringArray("ssh", nil, "ssh agent for RUN --mount=type=ssh: default ($SSH_AUTH_SOCK) or ID=SOCKET (repeatable)")
	extras := addBuildExtras(fs)
	attests := addAttestFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := extras.parse(); err != nil {
		return err
	}
	att, err := attests.config()
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("build needs exactly one CONTEXT directory (got %d arguments), e.g. gorae build -t app .", fs.NArg())
	}
	ctxDir := fs.Arg(0)
	if err := checkContextArg(ctxDir, *file); err != nil {
		return err
	}
	if *quiet {
		*prog = "quiet"
	}
	for _, t := range *tags {
		if err := checkTag(t); err != nil {
			return usagef("invalid tag -t %s: %v", t, err)
		}
	}
	switch *isolation {
	case "default", "":
		*isolation = ""
	case "chroot":
		if os.Geteuid() != 0 {
			return usagef("--isolation=chroot needs root (a chroot needs CAP_SYS_CHROOT); without root, gorae isolates RUN in a user namespace")
		}
		// Said in every progress mode, -q included.
		fmt.Fprintln(os.Stderr, "gorae: WARNING: --isolation=chroot: RUN steps are NOT isolated: they run in a chroot with gorae's own privileges, network, processes and hostname, and without /proc or RUN --mount; use it only where no namespace can be made")
	default:
		return usagef("invalid --isolation %q: use default or chroot", *isolation)
	}
	if err := extras.checkIsolation(*isolation); err != nil {
		return err
	}
	for _, a := range *allow {
		if a != "network.host" && a != "security.insecure" {
			return usagef("invalid --allow %q: use network.host or security.insecure", a)
		}
	}
	if outside && (*file == "-" || ctxDir == "-" || *noCache) {
		// Standard input cannot be read twice; --no-cache executes
		// every step anyway.
		return errNeedsNamespace
	}
	printer, err := progress.New(os.Stderr, *prog)
	if err != nil {
		return usageError{err}
	}
	defer printer.Close() // stops the live display and prints its final state
	ba, err := keyValues("--build-arg", *buildArgs, true)
	if err != nil {
		return err
	}
	if v, ok := ba[frontend.LintArg]; ok {
		if err := frontend.CheckLintArg(v); err != nil {
			return usageError{err}
		}
	}
	lb, err := keyValues("--label", *labels, false)
	if err != nil {
		return err
	}
	bc, err := keyValues("--build-context", *contexts, false)
	if err != nil {
		return err
	}
	if err := checkBuildContexts(bc); err != nil {
		return err
	}
	cto, cfrom, err := cacheSpecs(*cacheTo, *cacheFrom)
	if err != nil {
		return err
	}
	epoch, err := sourceDateEpoch(ba)
	if err != nil {
		return err
	}
	sec, err := parseSecrets(*secrets, os.LookupEnv)
	if err != nil {
		return err
	}
	agents, err := parseSSH(*sshs, os.LookupEnv)
	if err != nil {
		return err
	}
	bo := builder.Options{
		ContextDir: ctxDir, Dockerfile: *file, Stdin: os.Stdin, Tags: *tags,
		BuildArgs: ba, Target: *target, Platforms: *platforms, NoCache: *noCache,
		Pull: *pull, Push: *push, Outputs: *outputs, Labels: lb, Contexts: bc,
		Registry: registry.Options{Insecure: *insecure}, Compression: *compression,
		Docker: !*ociTypes, IIDFile: *iid, Metadata: *meta, Jobs: *jobs,
		Epoch: epoch, Progress: printer, Allow: *allow,
		CacheTo: cto, CacheFrom: cfrom,
		Secrets: sec, SSH: agents,
		// json consumers always get the reasons: they cost nothing to skip.
		Explain:       *explain || *prog == "json",
		NoCacheFilter: splitList(*noCacheFilter),
		Isolation:     *isolation,
		Attest:        att,

		VerifyReproducible: *verify,
		WallClock:          !*reproducible,
	}
	extras.apply(&bo)
	if extras.call != "build" {
		if outside {
			return errNeedsNamespace // base images may need pulling, a remote context fetching
		}
		return runCall(ctx, extras.call, bo, openRoot)
	}
	var r *root.Root
	if outside {
		if r, err = root.OpenOutside(root.Default()); err != nil {
			return errNeedsNamespace
		}
		printer.Hold()
	} else if r, err = openRoot(); err != nil {
		return err
	}
	defer r.Close()
	res, err := builder.Build(ctx, r, bo)
	var fe *builder.FlagError
	if outside {
		// A step to execute is the namespace's to run; anything else,
		// success or failure, is the build's result.
		if errors.Is(err, ops.ErrNeedsNamespace) && ctx.Err() == nil {
			printer.Drop()
			return errNeedsNamespace
		}
		printer.Release()
	}
	if errors.As(err, &fe) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if printer.Quiet() {
		fmt.Println(res.Digest)
	}
	return nil
}

// splitList splits repeated comma-separated flag values, as buildx
// joins and the Dockerfile frontend splits --no-cache-filter.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

// keyValues parses repeated KEY=VALUE flags. With fromEnv, a bare KEY
// takes its value from the environment (and is dropped when unset), as
// docker build does for --build-arg.
func keyValues(flag string, vals []string, fromEnv bool) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if k == "" {
			return nil, usagef("invalid %s %q: use KEY=VALUE", flag, v)
		}
		if !ok {
			if !fromEnv {
				return nil, usagef("invalid %s %q: use KEY=VALUE", flag, v)
			}
			env, set := os.LookupEnv(k)
			if !set {
				continue
			}
			val = env
		}
		m[k] = val
	}
	return m, nil
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH from --build-arg or the
// environment, as BuildKit does.
func sourceDateEpoch(args map[string]string) (*time.Time, error) {
	v, ok := args["SOURCE_DATE_EPOCH"]
	if !ok {
		v = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, usagef("invalid SOURCE_DATE_EPOCH %q: use seconds since 1970, e.g. $(git log -1 --format=%%ct)", v)
	}
	t := time.Unix(n, 0).UTC()
	return &t, nil
}

// cacheSpecs parses every --cache-to and --cache-from value.
func cacheSpecs(to, from []string) (cto, cfrom []remotecache.Spec, err error) {
	for _, v := range to {
		s, err := remotecache.ParseTo(v)
		if err != nil {
			return nil, nil, usageError{err}
		}
		cto = append(cto, s)
	}
	for _, v := range from {
		s, err := remotecache.ParseFrom(v)
		if err != nil {
			return nil, nil, usageError{err}
		}
		cfrom = append(cfrom, s)
	}
	return cto, cfrom, nil
}

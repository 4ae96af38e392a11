package builder

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/ops"
)

// provenance is the SLSA provenance of platform i's image, with the
// fields BuildKit's Dockerfile frontend fills (docs/attestations.md):
// mode=min has the config source, the request without build args,
// labels, secrets and ssh, the resolved dependencies and the run's
// metadata; mode=max adds those and the build steps, the Dockerfile and
// the layers of the steps.
func (a *attestor) provenance(in exportInput, i int, states map[string]*ops.State, finished time.Time) *attest.Provenance {
	conv := in.convs[i]
	c := capture(conv.Root, a.env, a.pins)
	maxMode := a.cfg.Provenance.Mode == "max"

	req := attest.Request{Frontend: attest.Frontend, Args: a.requestArgs()}
	complete := true
	if maxMode {
		req.Secrets, req.SSH = c.secrets, c.ssh
	} else {
		for k := range req.Args {
			if strings.HasPrefix(k, "build-arg:") || strings.HasPrefix(k, "label:") {
				delete(req.Args, k)
				complete = false
			}
		}
	}
	req.Locals = a.locals(c)
	if len(req.Args) == 0 {
		req.Args = nil
	}
	ext := attest.ExternalParameters{ConfigSource: a.configSource(), Request: req}

	host := images.HostPlatform()
	p := &attest.Provenance{
		BuildDefinition: attest.BuildDefinition{
			BuildType:            attest.BuildType,
			ResolvedDependencies: c.dependencies(),
			ExternalParameters:   ext,
			InternalParameters: attest.InternalParameters{
				BuilderPlatform: attest.FormatPlatform(host),
				TargetPlatform:  attest.FormatPlatform(in.plats[i]),
			},
		},
	}
	started, done := a.started.UTC(), finished.UTC()
	md := &attest.Metadata{
		InvocationID: a.id, StartedOn: &started, FinishedOn: &done,
		Completeness: attest.Completeness{Request: complete, ResolvedDependencies: len(req.Locals) == 0},
		Reproducible: a.cfg.Provenance.Reproducible,
	}
	md.Hermetic = md.Completeness.ResolvedDependencies && !c.network
	if maxMode {
		steps := buildSteps(conv.Root, a.env, states)
		p.BuildDefinition.InternalParameters.BuildConfig = steps.config()
		md.BuildKitMetadata.Source = steps.source(a.file, a.src)
		md.BuildKitMetadata.Layers = steps.layers()
	}
	p.RunDetails = attest.RunDetails{Builder: attest.Builder{ID: a.cfg.Provenance.BuilderID}, Metadata: md}
	return p
}

// configSource is where the Dockerfile came from: a remote context's URL
// and digest, and the Dockerfile's path in it (or its name).
func (a *attestor) configSource() attest.ConfigSource {
	cs := attest.ConfigSource{Path: a.file}
	p, ok := a.pins["context"]
	if !ok || !p.remote() {
		return cs
	}
	dep, uri := p.material()
	cs.URI, cs.Digest = uri, dep.Digest
	if f := a.orig.Dockerfile; f != "" && f != "-" && !filepath.IsAbs(f) {
		cs.Path = filepath.ToSlash(f)
	}
	return cs
}

// locals are the build's local sources, as BuildKit's request lists
// them: the context and the Dockerfile when they are local files, and
// every named context directory the graph reads.
func (a *attestor) locals(c *captured) []attest.Local {
	var out []attest.Local
	main, remote := a.pins["context"]
	remote = remote && main.remote()
	if !remote {
		out = append(out, attest.Local{Name: "context"})
	}
	if f := a.orig.Dockerfile; !remote || f == "-" || filepath.IsAbs(f) {
		out = append(out, attest.Local{Name: "dockerfile"})
	}
	for _, name := range sortedKeys(c.contexts) {
		if p, ok := a.pins[name]; name != "context" && (!ok || !p.remote()) {
			out = append(out, attest.Local{Name: name})
		}
	}
	return out
}

// requestArgs are the build's options as the keys buildx sends BuildKit's
// Dockerfile frontend, without those BuildKit leaves out of provenance as
// host specific (platform, image-resolve-mode) or puts elsewhere
// (context, filename: the config source).
func (a *attestor) requestArgs() map[string]string {
	o := a.orig
	args := map[string]string{}
	for k, v := range o.BuildArgs {
		args["build-arg:"+k] = v
	}
	for k, v := range o.Labels {
		args["label:"+k] = v
	}
	if o.Target != "" {
		args["target"] = o.Target
	}
	for name, v := range o.Contexts {
		if fi, err := os.Stat(v); err == nil && fi.IsDir() {
			v = "local:" + name
		}
		args["context:"+name] = attest.RedactURL(v)
	}
	switch {
	case o.NoCache:
		args["no-cache"] = ""
	case len(o.NoCacheFilter) > 0:
		args["no-cache"] = strings.Join(o.NoCacheFilter, ",")
	}
	if n := o.Run.Network; n != "" && n != "default" {
		args["force-network-mode"] = n
	}
	if len(o.Run.ExtraHosts) > 0 {
		args["add-hosts"] = strings.Join(o.Run.ExtraHosts, ",")
	}
	if o.Run.ShmSize > 0 {
		args["shm-size"] = strconv.FormatInt(o.Run.ShmSize, 10)
	}
	if len(o.Run.Ulimits) > 0 {
		args["ulimit"] = strings.Join(o.Run.Ulimits, ",")
	}
	return args
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

package kubejob

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/gorae/gorae/bake"
	"github.com/gorae/gorae/bakefile"
)

// terminationLog is where the container writes its --metadata-file: the
// kubelet's default terminationMessagePath, whose content becomes the
// terminated container's status message (at most 4 KiB; gorae's
// metadata is a few hundred bytes).
const terminationLog = "/dev/termination-log"

// command is what one target's Job needs besides the cluster's part.
type command struct {
	target     *bakefile.Target
	deps       []bake.Dep
	contextURL string            // the main context: a registry blob URL, or the target's git/tarball URL
	uploaded   bool              // contextURL is a blob made by mainContext (its Dockerfile is .gorae-bake/Dockerfile)
	named      map[string]string // uploaded named contexts: name → blob URL
	staging    name.Tag
	cache      string // the default registry cache ref of the target
	insecure   []string
}

// args is the `gorae build` command line (after the image's entrypoint)
// a target's Job runs: the target's settings as flags, its own registry
// cache, its dependencies as image contexts, a push to the staging tag
// only, and the metadata as the termination message.
func (c command) args() ([]string, error) {
	t := c.target
	if len(t.Secrets) > 0 {
		return nil, fmt.Errorf("target %s: secrets cannot travel to a Kubernetes Job: build it without --kubernetes, or read the secret in the pod another way", t.Name)
	}
	if len(t.SSH) > 0 {
		return nil, fmt.Errorf("target %s: ssh agents cannot travel to a Kubernetes Job: build it without --kubernetes, or fetch with a git context instead", t.Name)
	}
	for _, o := range t.Outputs {
		if !pushOutput(o) && !bake.CacheOnlyOutput(o) {
			return nil, fmt.Errorf("target %s: output %q would be written inside the Job's pod: with --kubernetes, images reach their tags through the registry (type=registry or type=image); drop the output or build without --kubernetes", t.Name, o)
		}
	}
	a := []string{"build", "--progress=plain"}
	switch {
	case c.uploaded:
		a = append(a, "-f", bakeDir+"/Dockerfile")
	case t.DockerfileInline != "":
		return nil, fmt.Errorf("target %s: dockerfile-inline needs a context directory, not the URL %s", t.Name, c.contextURL)
	case t.Dockerfile != "":
		a = append(a, "-f", t.Dockerfile)
	}
	for _, k := range slices.Sorted(maps.Keys(t.Args)) {
		a = append(a, "--build-arg", k+"="+t.Args[k])
	}
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		a = append(a, "--label", k+"="+t.Labels[k])
	}
	if t.Target != "" {
		a = append(a, "--target", t.Target)
	}
	if len(t.Platforms) > 0 {
		a = append(a, "--platform", strings.Join(t.Platforms, ","))
	}
	if t.Pull != nil && *t.Pull {
		a = append(a, "--pull")
	}
	if t.NoCache != nil && *t.NoCache {
		a = append(a, "--no-cache")
	}
	a = appendEach(a, "--no-cache-filter", t.NoCacheFilter)
	if t.Network != "" {
		a = append(a, "--network", t.Network)
	}
	if t.ShmSize != "" {
		a = append(a, "--shm-size", t.ShmSize)
	}
	a = appendEach(a, "--ulimit", t.Ulimits)
	a = appendEach(a, "--add-host", t.ExtraHosts)
	a = appendEach(a, "--allow", t.Entitlements)
	a = appendEach(a, "--annotation", t.Annotations)
	a = appendEach(a, "--attest", t.Attest)
	a = appendEach(a, "--insecure-registry", c.insecure)
	a = append(a, "-t", c.staging.String(), "--push")
	from, to := t.CacheFrom, t.CacheTo
	if len(from) == 0 {
		from = []string{"type=registry,ref=" + c.cache}
	}
	if len(to) == 0 {
		to = []string{"type=registry,ref=" + c.cache + ",mode=max"}
	}
	a = appendEach(a, "--cache-from", from)
	a = appendEach(a, "--cache-to", to)
	ctxs, err := c.contexts()
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(ctxs)) {
		a = append(a, "--build-context", k+"="+ctxs[k])
	}
	a = append(a, "--metadata-file", terminationLog, c.contextURL)
	return a, nil
}

// contexts are the Job's --build-context values: a dependency's image by
// digest, an uploaded directory by its blob URL, a URL or an image as
// the target gives it.
func (c command) contexts() (map[string]string, error) {
	t := c.target
	out := map[string]string{}
	for k, v := range t.Contexts {
		switch {
		case c.named[k] != "":
			out[k] = c.named[k]
		case strings.HasPrefix(v, "target:") || strings.HasPrefix(v, "service:"):
			// The dependency's result below; the scheduler built it.
		case strings.HasPrefix(v, "oci-layout://"):
			return nil, fmt.Errorf("target %s: context %s=%s is a directory on this machine, which the Job cannot read: push the layout to a registry and use docker-image://", t.Name, k, v)
		default:
			out[k] = v
		}
	}
	for _, d := range c.deps {
		if d.Result.Ref == "" || d.Result.Digest == "" {
			return nil, fmt.Errorf("target %s: dependency %s (context %s) has no image in a registry to read", t.Name, d.Target, d.Name)
		}
		out[d.Name] = "docker-image://" + d.Result.Ref + "@" + d.Result.Digest
	}
	for k, v := range t.Contexts {
		if (strings.HasPrefix(v, "target:") || strings.HasPrefix(v, "service:")) && out[k] == "" {
			return nil, fmt.Errorf("target %s: context %s=%s has no built dependency", t.Name, k, v)
		}
	}
	return out, nil
}

// pushOutput reports whether an output spec only pushes the image,
// which the staging push and Publish already do.
func pushOutput(spec string) bool {
	for _, f := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		if k == "type" {
			return v == "registry" || v == "image"
		}
	}
	return false
}

func appendEach(a []string, flag string, vals []string) []string {
	for _, v := range vals {
		a = append(a, flag, v)
	}
	return a
}

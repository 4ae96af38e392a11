package builder

import (
	"cmp"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/gitsource"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/ops"
)

// sourcePin is what a remote build context resolved to: a git URL and
// its commit, or a tarball URL and its digest ("sha256:…"). The zero
// sourcePin is a local context (a tar on standard input).
type sourcePin struct {
	git    *gitsource.URL
	url    string
	digest string
	// committed is a git context's commit time: its default epoch.
	committed *time.Time
}

func (p sourcePin) remote() bool { return p.git != nil || p.url != "" }

// material is the resolved dependency p is, and the URI a config source
// read from it names (a git URL keeps its subdirectory there).
func (p sourcePin) material() (dep attest.ResourceDescriptor, configURI string) {
	if p.git == nil {
		u := attest.RedactURL(p.url)
		return attest.ResourceDescriptor{URI: u, Digest: digestSet(p.digest)}, u
	}
	uri := attest.RedactURL(p.git.Remote)
	if p.git.Ref != "" {
		uri += "#" + p.git.Ref
	}
	configURI = attest.RedactURL(p.git.Remote)
	if p.git.Ref != "" || p.git.Subdir != "" {
		configURI += "#" + p.git.Ref
		if p.git.Subdir != "" {
			configURI += ":" + p.git.Subdir
		}
	}
	return attest.ResourceDescriptor{URI: uri, Digest: commitDigest(p.digest)}, configURI
}

// digestSet is {"sha256": hex} for "sha256:hex".
func digestSet(d string) map[string]string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		return nil
	}
	return map[string]string{alg: hex}
}

// commitDigest is a git commit as BuildKit's digest set: sha1, or sha256
// for a SHA-256 repository.
func commitDigest(c string) map[string]string {
	if len(c) == 64 {
		return map[string]string{"sha256": c}
	}
	return map[string]string{"sha1": c}
}

// captured is what one platform's graph used, as BuildKit's provenance
// capture sees its LLB: base images, git and http sources, contexts,
// the secrets and ssh agents RUN steps mount, and whether any RUN has a
// network.
type captured struct {
	images   []imageSource
	git      []attest.ResourceDescriptor
	http     []attest.ResourceDescriptor
	contexts map[string]bool // graph.Context names
	secrets  []attest.Secret
	ssh      []attest.Secret
	network  bool
}

type imageSource struct {
	ref, platform, digest string
}

// capture walks the graph under root; env has the pins of its http and
// git sources, pins those of the remote contexts.
func capture(root *graph.Node, env *ops.Env, pins map[string]sourcePin) *captured {
	c := &captured{contexts: map[string]bool{}}
	seenDep := map[string]bool{}
	addDep := func(list *[]attest.ResourceDescriptor, d attest.ResourceDescriptor) {
		if !seenDep[d.URI] {
			seenDep[d.URI] = true
			*list = append(*list, d)
		}
	}
	seenImage := map[imageSource]bool{}
	graph.Walk([]*graph.Node{root}, func(n *graph.Node) error {
		switch op := n.Op.(type) {
		case graph.Image:
			s := imageSource{op.Ref, op.Platform, op.Digest}
			if !seenImage[s] {
				seenImage[s] = true
				c.images = append(c.images, s)
			}
		case graph.HTTP:
			pin, _ := env.Pinned(n.Digest())
			addDep(&c.http, attest.ResourceDescriptor{URI: attest.RedactURL(op.URL), Digest: digestSet(pin)})
		case graph.Git:
			pin, _ := env.Pinned(n.Digest())
			d := attest.ResourceDescriptor{URI: attest.RedactURL(op.URL), Digest: commitDigest(pin)}
			if u, err := gitsource.Parse(op.URL); err == nil {
				d.URI = attest.RedactURL(u.Remote)
				if u.Ref != "" {
					d.URI += "#" + u.Ref
				}
			}
			addDep(&c.git, d)
		case graph.Context:
			c.contexts[op.Name] = true
		case graph.Run:
			c.network = c.network || op.Network != "none"
			for _, m := range op.Mounts {
				switch m.Type {
				case "secret":
					c.secrets = addSecret(c.secrets, m.ID, !m.Required)
				case "ssh":
					c.ssh = addSecret(c.ssh, m.ID, !m.Required)
				}
			}
		}
		return nil
	})
	for name := range c.contexts {
		if p, ok := pins[name]; ok && p.remote() {
			dep, _ := p.material()
			if p.git != nil {
				addDep(&c.git, dep)
			} else {
				addDep(&c.http, dep)
			}
		}
	}
	slices.SortFunc(c.images, func(a, b imageSource) int {
		return cmp.Or(cmp.Compare(a.ref, b.ref), cmp.Compare(a.platform, b.platform))
	})
	byURI := func(a, b attest.ResourceDescriptor) int { return cmp.Compare(a.URI, b.URI) }
	slices.SortFunc(c.git, byURI)
	slices.SortFunc(c.http, byURI)
	return c
}

// addSecret adds id, required unless every mount of it is optional.
func addSecret(list []attest.Secret, id string, optional bool) []attest.Secret {
	for i := range list {
		if list[i].ID == id {
			list[i].Optional = list[i].Optional && optional
			return list
		}
	}
	list = append(list, attest.Secret{ID: id, Optional: optional})
	slices.SortFunc(list, func(a, b attest.Secret) int { return cmp.Compare(a.ID, b.ID) })
	return list
}

// dependencies are c's resolved dependencies in BuildKit's order: base
// images (package URLs, sorted by reference), git sources, http sources.
func (c *captured) dependencies() []attest.ResourceDescriptor {
	var out []attest.ResourceDescriptor
	for _, s := range c.images {
		var p *v1.Platform
		if s.platform != "" {
			if pl, err := images.ParsePlatform(s.platform); err == nil {
				p = &pl
			}
		}
		uri, err := attest.ImagePURL(s.ref, p)
		if err != nil {
			continue
		}
		out = append(out, attest.ResourceDescriptor{URI: uri, Digest: digestSet(s.digest)})
	}
	out = append(out, c.git...)
	return append(out, c.http...)
}

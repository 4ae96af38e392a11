package bakefile

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// printTarget is a target in buildx's `--print` form: buildx's field
// order, and cache, output, secret, ssh and attest entries as objects.
type printTarget struct {
	Description      string              `json:"description,omitempty"`
	Annotations      []string            `json:"annotations,omitempty"`
	Attest           []map[string]any    `json:"attest,omitempty"`
	Context          string              `json:"context,omitempty"`
	Contexts         map[string]string   `json:"contexts,omitempty"`
	Dockerfile       string              `json:"dockerfile,omitempty"`
	DockerfileInline string              `json:"dockerfile-inline,omitempty"`
	Args             map[string]string   `json:"args,omitempty"`
	Labels           map[string]string   `json:"labels,omitempty"`
	Tags             []string            `json:"tags,omitempty"`
	CacheFrom        []map[string]string `json:"cache-from,omitempty"`
	CacheTo          []map[string]string `json:"cache-to,omitempty"`
	Target           string              `json:"target,omitempty"`
	Secrets          []printSecret       `json:"secret,omitempty"`
	SSH              []printSSH          `json:"ssh,omitempty"`
	Platforms        []string            `json:"platforms,omitempty"`
	Outputs          []map[string]string `json:"output,omitempty"`
	Pull             *bool               `json:"pull,omitempty"`
	NoCache          *bool               `json:"no-cache,omitempty"`
	Network          string              `json:"network,omitempty"`
	NoCacheFilter    []string            `json:"no-cache-filter,omitempty"`
	ShmSize          string              `json:"shm-size,omitempty"`
	Ulimits          []string            `json:"ulimits,omitempty"`
	Entitlements     []string            `json:"entitlements,omitempty"`
	ExtraHosts       map[string]string   `json:"extra-hosts,omitempty"`
}

type printSecret struct {
	ID  string `json:"id,omitempty"`
	Src string `json:"src,omitempty"`
	Env string `json:"env,omitempty"`
}

type printSSH struct {
	ID    string   `json:"id,omitempty"`
	Paths []string `json:"paths,omitempty"`
}

// Print writes the config as `docker buildx bake --print` does.
func (c *Config) Print(w io.Writer) error {
	def := struct {
		Group  map[string]*Group       `json:"group,omitempty"`
		Target map[string]*printTarget `json:"target"`
	}{Group: c.Groups, Target: map[string]*printTarget{}}
	for n, t := range c.Targets {
		def.Target[n] = toPrint(t)
	}
	dt, err := json.MarshalIndent(def, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(dt))
	return err
}

// esc keeps printed values re-readable as bake input (buildx escapes
// interpolation markers in args, labels, annotations and inline
// Dockerfiles).
func esc(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "${", "$${"), "%{", "%%{")
}

func escMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		out[k] = esc(v)
	}
	return out
}

func toPrint(t *Target) *printTarget {
	p := &printTarget{
		Description: t.Description, Context: t.Context, Contexts: t.Contexts,
		Dockerfile: t.Dockerfile, DockerfileInline: esc(t.DockerfileInline),
		Args: escMap(t.Args), Labels: escMap(t.Labels), Tags: t.Tags, Target: t.Target,
		Platforms: t.Platforms, Pull: t.Pull, NoCache: t.NoCache, Network: t.Network,
		NoCacheFilter: t.NoCacheFilter, ShmSize: t.ShmSize, Ulimits: t.Ulimits, Entitlements: t.Entitlements,
	}
	for _, a := range t.Annotations {
		p.Annotations = append(p.Annotations, esc(a))
	}
	for _, a := range t.Attest {
		m := map[string]any{}
		for k, v := range csvMap(a) {
			if k == "disabled" {
				if b, _ := strconv.ParseBool(v); b {
					m[k] = true
				}
				continue
			}
			m[k] = v
		}
		p.Attest = append(p.Attest, m)
	}
	p.CacheFrom = cacheObjects(t.CacheFrom)
	p.CacheTo = cacheObjects(t.CacheTo)
	for _, o := range t.Outputs {
		m := map[string]string{}
		switch {
		case o == "-":
			m["type"], m["dest"] = "tar", "-"
		case !strings.Contains(o, "="):
			m["type"], m["dest"] = "local", o
		default:
			m = csvMap(o)
		}
		p.Outputs = append(p.Outputs, m)
	}
	for _, s := range t.Secrets {
		m := csvMap(s)
		ps := printSecret{ID: m["id"], Src: m["src"], Env: m["env"]}
		if ps.Src == "" {
			ps.Src = m["source"]
		}
		if m["type"] == "env" && ps.Env == "" {
			ps.Env, ps.Src = ps.Src, ""
		}
		p.Secrets = append(p.Secrets, ps)
	}
	for _, s := range t.SSH {
		id, paths, ok := strings.Cut(s, "=")
		ps := printSSH{ID: id}
		if ok {
			ps.Paths = strings.Split(paths, ",")
		}
		p.SSH = append(p.SSH, ps)
	}
	if len(t.ExtraHosts) > 0 {
		p.ExtraHosts = map[string]string{}
		for _, h := range t.ExtraHosts {
			k, v, ok := strings.Cut(h, "=")
			if !ok {
				k, v, _ = strings.Cut(h, ":")
			}
			p.ExtraHosts[k] = esc(v)
		}
	}
	return p
}

// cacheObjects is buildx's cache entry form: a bare ref is a registry
// cache.
func cacheObjects(entries []string) []map[string]string {
	var out []map[string]string
	for _, e := range entries {
		if !strings.Contains(e, "=") {
			out = append(out, map[string]string{"type": "registry", "ref": e})
			continue
		}
		out = append(out, csvMap(e))
	}
	return out
}

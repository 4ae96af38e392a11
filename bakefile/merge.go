package bakefile

import (
	"maps"
	"slices"
	"sort"
	"strings"
)

// partial is one target as a file (or several blocks of the same name)
// declares it: set records which attributes were given, because merging
// replaces or appends only what the later declaration set, as buildx's
// pointer fields do (an explicit `tags = []` clears the parent's tags).
type partial struct {
	t        Target
	set      map[string]bool
	inherits []string
	hosts    map[string]string // extra-hosts: a map in bake files, merged by key
}

func newPartial(name string) *partial {
	return &partial{t: Target{Name: name}, set: map[string]bool{}}
}

func (p *partial) clone() *partial {
	c := &partial{t: p.t, set: maps.Clone(p.set), inherits: slices.Clone(p.inherits), hosts: maps.Clone(p.hosts)}
	c.t.Contexts = maps.Clone(p.t.Contexts)
	c.t.Args = maps.Clone(p.t.Args)
	c.t.Labels = maps.Clone(p.t.Labels)
	for _, s := range []*[]string{&c.t.Annotations, &c.t.Attest, &c.t.Tags, &c.t.CacheFrom, &c.t.CacheTo, &c.t.Secrets, &c.t.SSH, &c.t.Platforms, &c.t.Outputs, &c.t.NoCacheFilter, &c.t.Ulimits, &c.t.Entitlements} {
		*s = slices.Clone(*s)
	}
	return c
}

// merge applies o over p field by field, as buildx's Target.Merge does:
// scalars and tags, platforms, cache-to and output are replaced; maps are
// merged by key; annotations, attest, secrets, ssh, cache-from,
// no-cache-filter, ulimits and entitlements accumulate.
func (p *partial) merge(o *partial) {
	for k := range o.set {
		p.set[k] = true
		switch k {
		case "description":
			if o.t.Description != "" {
				p.t.Description = o.t.Description
			}
		case "context":
			p.t.Context = o.t.Context
		case "dockerfile":
			p.t.Dockerfile = o.t.Dockerfile
		case "dockerfile-inline":
			p.t.DockerfileInline = o.t.DockerfileInline
		case "target":
			p.t.Target = o.t.Target
		case "network":
			p.t.Network = o.t.Network
		case "shm-size":
			p.t.ShmSize = o.t.ShmSize
		case "pull":
			p.t.Pull = o.t.Pull
		case "no-cache":
			p.t.NoCache = o.t.NoCache
		case "args":
			p.t.Args = mergeMap(p.t.Args, o.t.Args)
		case "labels":
			p.t.Labels = mergeMap(p.t.Labels, o.t.Labels)
		case "contexts":
			p.t.Contexts = mergeMap(p.t.Contexts, o.t.Contexts)
		case "extra-hosts":
			p.hosts = mergeMap(p.hosts, o.hosts)
		case "tags":
			p.t.Tags = slices.Clone(o.t.Tags)
		case "platforms":
			p.t.Platforms = slices.Clone(o.t.Platforms)
		case "cache-to":
			p.t.CacheTo = slices.Clone(o.t.CacheTo)
		case "output":
			p.t.Outputs = slices.Clone(o.t.Outputs)
		case "annotations":
			p.t.Annotations = append(p.t.Annotations, o.t.Annotations...)
		case "attest":
			p.t.Attest = mergeKeyed(p.t.Attest, o.t.Attest, attestKey)
		case "secret":
			p.t.Secrets = mergeKeyed(p.t.Secrets, o.t.Secrets, secretKey)
		case "ssh":
			p.t.SSH = mergeKeyed(p.t.SSH, o.t.SSH, sshKey)
		case "cache-from":
			p.t.CacheFrom = dedupe(append(p.t.CacheFrom, o.t.CacheFrom...))
		case "no-cache-filter":
			p.t.NoCacheFilter = append(p.t.NoCacheFilter, o.t.NoCacheFilter...)
		case "ulimits":
			p.t.Ulimits = append(p.t.Ulimits, o.t.Ulimits...)
		case "entitlements":
			p.t.Entitlements = append(p.t.Entitlements, o.t.Entitlements...)
		}
	}
	p.inherits = append(p.inherits, o.inherits...)
}

func mergeMap(a, b map[string]string) map[string]string {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = map[string]string{}
	}
	maps.Copy(a, b)
	return a
}

// mergeKeyed appends b to a; an entry whose key is already there replaces
// the earlier one in place (a later secret with the same id wins).
func mergeKeyed(a, b []string, key func(string) string) []string {
	out := slices.Clone(a)
	for _, v := range b {
		k := key(v)
		if i := slices.IndexFunc(out, func(x string) bool { return key(x) == k }); i >= 0 {
			out[i] = v
			continue
		}
		out = append(out, v)
	}
	return out
}

func secretKey(s string) string { return csvAttr(s, "id") }
func attestKey(s string) string { return csvAttr(s, "type") }
func sshKey(s string) string {
	id, _, _ := strings.Cut(s, "=")
	return id
}

// csvAttr is the value of key in a key=value,... spec.
func csvAttr(s, key string) string {
	for _, f := range splitCSV(s) {
		k, v, _ := strings.Cut(f, "=")
		if strings.EqualFold(strings.TrimSpace(k), key) {
			return v
		}
	}
	return ""
}

// dedupe drops empty strings and repeats, keeping first occurrences.
func dedupe(s []string) []string {
	if s == nil {
		return nil
	}
	seen := map[string]bool{}
	out := s[:0:0]
	for _, v := range s {
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}

// normalize is buildx's: no duplicates, network=host entitles
// network.host, empty named contexts dropped, extra-hosts as sorted
// host=ip entries.
func (p *partial) normalize() {
	t := &p.t
	t.Annotations = dedupe(t.Annotations)
	t.Attest = dedupe(t.Attest)
	t.Tags = dedupe(t.Tags)
	t.Secrets = dedupe(t.Secrets)
	t.SSH = dedupe(t.SSH)
	t.Platforms = dedupe(t.Platforms)
	t.CacheFrom = dedupe(t.CacheFrom)
	t.CacheTo = dedupe(t.CacheTo)
	t.Outputs = dedupe(t.Outputs)
	t.NoCacheFilter = dedupe(t.NoCacheFilter)
	t.Ulimits = dedupe(t.Ulimits)
	if t.Network == "host" {
		t.Entitlements = append(t.Entitlements, "network.host")
	}
	t.Entitlements = dedupe(t.Entitlements)
	for k, v := range t.Contexts {
		if v == "" {
			delete(t.Contexts, k)
		}
	}
	if len(t.Contexts) == 0 {
		t.Contexts = nil
	}
	t.ExtraHosts = nil
	for _, h := range slices.Sorted(maps.Keys(p.hosts)) {
		t.ExtraHosts = append(t.ExtraHosts, h+"="+p.hosts[h])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

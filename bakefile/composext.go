package bakefile

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

type stringArray []string

func (sa *stringArray) UnmarshalYAML(n *yaml.Node) error {
	var multi []string
	if err := n.Decode(&multi); err == nil {
		*sa = multi
		return nil
	}
	var single string
	if err := n.Decode(&single); err != nil {
		return err
	}
	*sa = strings.Fields(single)
	return nil
}

// xBake applies the x-bake extension: bake fields Compose lacks.
func xBake(pt *partial, ext any, base string) error {
	if ext == nil {
		return nil
	}
	var xb struct {
		Tags          stringArray       `yaml:"tags"`
		CacheFrom     stringArray       `yaml:"cache-from"`
		CacheTo       stringArray       `yaml:"cache-to"`
		Secrets       stringArray       `yaml:"secret"`
		SSH           stringArray       `yaml:"ssh"`
		Platforms     stringArray       `yaml:"platforms"`
		Outputs       stringArray       `yaml:"output"`
		Pull          *bool             `yaml:"pull"`
		NoCache       *bool             `yaml:"no-cache"`
		NoCacheFilter stringArray       `yaml:"no-cache-filter"`
		Contexts      map[string]string `yaml:"contexts"`
	}
	dt, err := yaml.Marshal(ext)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(dt, &xb); err != nil {
		return err
	}
	t := &pt.t
	add := func(key string, dst *[]string, v []string, merge func(a, b []string) []string) {
		if len(v) > 0 {
			*dst = merge(*dst, v)
			pt.set[key] = true
		}
	}
	appendDedupe := func(a, b []string) []string { return dedupe(append(slices.Clone(a), b...)) }
	add("tags", &t.Tags, xb.Tags, appendDedupe)
	add("cache-from", &t.CacheFrom, cacheEntries(xb.CacheFrom), appendDedupe)
	add("cache-to", &t.CacheTo, cacheEntries(xb.CacheTo), appendDedupe)
	add("secret", &t.Secrets, xb.Secrets, func(a, b []string) []string { return mergeKeyed(a, b, secretKey) })
	add("ssh", &t.SSH, xb.SSH, func(a, b []string) []string {
		s := mergeKeyed(a, b, sshKey)
		slices.Sort(s)
		return s
	})
	add("platforms", &t.Platforms, xb.Platforms, appendDedupe)
	add("output", &t.Outputs, xb.Outputs, appendDedupe)
	add("no-cache-filter", &t.NoCacheFilter, xb.NoCacheFilter, appendDedupe)
	if xb.Pull != nil {
		t.Pull = xb.Pull
		pt.set["pull"] = true
	}
	if xb.NoCache != nil {
		t.NoCache = xb.NoCache
		pt.set["no-cache"] = true
	}
	if len(xb.Contexts) > 0 {
		// Contexts from additional_contexts win over x-bake's.
		for k, v := range namedContexts(xb.Contexts, base) {
			if _, ok := t.Contexts[k]; !ok {
				if t.Contexts == nil {
					t.Contexts = map[string]string{}
				}
				t.Contexts[k] = v
			}
		}
		pt.set["contexts"] = true
	}
	return nil
}

package bake

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gorae/gorae/bakefile"
	"github.com/gorae/gorae/registry"
)

// CacheRef is t's own registry cache ref: the repository repo ("" = the
// repository of t's first image name), tagged buildcache-TARGET, so
// targets sharing a repository never share (and overwrite) a cache. ""
// when t has no name to derive it from.
func CacheRef(t *bakefile.Target, repo string) string {
	if repo == "" {
		names := Names(t)
		if len(names) == 0 {
			return ""
		}
		full, err := registry.Normalize(names[0])
		if err != nil {
			return ""
		}
		repo = full
		if i := strings.LastIndex(repo, "@"); i >= 0 {
			repo = repo[:i]
		}
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
	}
	return repo + ":buildcache-" + tagSafe(t.Name)
}

var notTagChar = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// tagSafe makes a target name a valid tag suffix.
func tagSafe(name string) string {
	return notTagChar.ReplaceAllString(name, "_")
}

// FillCacheRefs gives every type=registry cache-from and cache-to value
// of t without a ref= t's own ref (CacheRef in repo): a cache setting
// shared through inherits or --set "*.cache-to=type=registry,mode=max"
// then keeps one cache per target.
func FillCacheRefs(t *bakefile.Target, repo string) error {
	fill := func(field string, specs []string) ([]string, error) {
		out := make([]string, len(specs))
		for i, s := range specs {
			out[i] = s
			fields := strings.Split(s, ",")
			if !containsField(fields, "type=registry") || hasKey(fields, "ref") {
				continue
			}
			ref := CacheRef(t, repo)
			if ref == "" {
				return nil, fmt.Errorf("target %q: %s %q has no ref, and the target has no tag to name its own cache after: add ref=REGISTRY/REPO:TAG", t.Name, field, s)
			}
			out[i] = s + ",ref=" + ref
		}
		return out, nil
	}
	var err error
	if t.CacheFrom, err = fill("cache-from", t.CacheFrom); err != nil {
		return err
	}
	t.CacheTo, err = fill("cache-to", t.CacheTo)
	return err
}

func containsField(fields []string, f string) bool {
	for _, x := range fields {
		if strings.TrimSpace(x) == f {
			return true
		}
	}
	return false
}

func hasKey(fields []string, k string) bool {
	for _, x := range fields {
		if key, _, _ := strings.Cut(strings.TrimSpace(x), "="); key == k {
			return true
		}
	}
	return false
}

package bake

import (
	"slices"
	"strings"

	"github.com/gorae/gorae/bakefile"
)

// PushOutput says t's outputs push its image (type=registry, or
// type=image with push=true): gorae bake pushes it, at the end, with
// every other target.
func PushOutput(t *bakefile.Target) bool {
	for _, o := range t.Outputs {
		fields := strings.Split(o, ",")
		if containsField(fields, "type=registry") || (containsField(fields, "type=image") && containsField(fields, "push=true")) {
			return true
		}
	}
	return false
}

// Names are the image names of t: its tags, then the name= of its image
// and registry outputs.
func Names(t *bakefile.Target) []string {
	names := slices.Clone(t.Tags)
	for _, o := range t.Outputs {
		fields := strings.Split(o, ",")
		if !containsField(fields, "type=image") && !containsField(fields, "type=registry") {
			continue
		}
		for _, f := range fields {
			if v, ok := strings.CutPrefix(strings.Trim(strings.TrimSpace(f), `"`), "name="); ok && v != "" && !slices.Contains(names, v) {
				names = append(names, v)
			}
		}
	}
	return names
}

// Pushes says whether t's image goes to its registry at the end of the
// bake: an output of it pushes (type=registry, type=image,push=true;
// --push is buildx's --set *.push=true, which makes them), and it is not
// built only for its dependents.
func Pushes(t *bakefile.Target) bool {
	return !CacheOnly(t) && PushOutput(t)
}

// CacheOnly says t is built only for its dependents (buildx gives a
// target that only a target: context pulls in the output
// type=cacheonly): it is neither exported nor pushed.
func CacheOnly(t *bakefile.Target) bool {
	return slices.ContainsFunc(t.Outputs, CacheOnlyOutput)
}

// CacheOnlyOutput says the output spec is type=cacheonly: it writes
// nothing.
func CacheOnlyOutput(spec string) bool {
	return containsField(strings.Split(spec, ","), "type=cacheonly")
}

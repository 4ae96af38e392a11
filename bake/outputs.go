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
// bake: its own output pushes (type=registry, type=image,push=true), or
// --push (pushAll) and t makes an image (no output, or an image or
// registry one), as buildx's --push sets push=true on image outputs. A
// target built only for its dependents is never pushed.
func Pushes(t *bakefile.Target, pushAll bool) bool {
	if CacheOnly(t) {
		return false
	}
	if PushOutput(t) {
		return true
	}
	if !pushAll {
		return false
	}
	if len(t.Outputs) == 0 {
		return true
	}
	for _, o := range t.Outputs {
		fields := strings.Split(o, ",")
		if containsField(fields, "type=image") || containsField(fields, "type=registry") {
			return true
		}
	}
	return false
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

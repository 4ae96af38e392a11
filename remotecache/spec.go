package remotecache

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Spec is one --cache-to or --cache-from value.
type Spec struct {
	// Type is "registry", "local" or "inline".
	Type string
	// Ref is the registry reference (type=registry).
	Ref string
	// Dir is the OCI layout directory (type=local: dest for --cache-to,
	// src for --cache-from).
	Dir string
	// Mode is "min" (records of the final image's layers only) or "max"
	// (every step of every stage); --cache-to only.
	Mode string
	// CacheMounts also carries RUN --mount=type=cache directories;
	// --cache-to only (an import restores whatever the cache holds).
	CacheMounts bool
	// IgnoreError makes a failed export a warning (--cache-to only).
	IgnoreError bool
}

func (s Spec) String() string {
	switch s.Type {
	case "registry":
		return s.Ref
	case "local":
		return s.Dir
	}
	return s.Type
}

// ParseTo parses a --cache-to value:
// type=registry,ref=REF[,mode=min|max][,cache-mounts=true],
// type=local,dest=DIR[,mode=…][,cache-mounts=true] or type=inline.
func ParseTo(v string) (Spec, error) {
	return parseSpec("--cache-to", v, true)
}

// ParseFrom parses a --cache-from value: a bare REF (an image with
// inline records or a registry cache), type=registry,ref=REF or
// type=local,src=DIR.
func ParseFrom(v string) (Spec, error) {
	return parseSpec("--cache-from", v, false)
}

func parseSpec(flag, v string, to bool) (Spec, error) {
	bad := func(format string, a ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("invalid %s %q: %s", flag, v, fmt.Sprintf(format, a...))
	}
	if v == "" {
		return bad("empty; use type=registry,ref=REF, type=local,%s=DIR or type=inline", dirKey(to))
	}
	if !strings.Contains(v, "=") {
		if to {
			return bad("use type=registry,ref=REF (a bare reference is accepted by --cache-from only)")
		}
		if _, err := name.ParseReference(v); err != nil {
			return bad("%v", err)
		}
		return Spec{Type: "registry", Ref: v}, nil
	}
	s := Spec{Mode: "min"}
	seen := map[string]bool{}
	for _, field := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(field, "=")
		if !ok || k == "" || val == "" {
			return bad("%q is not KEY=VALUE", field)
		}
		if seen[k] {
			return bad("%s given twice", k)
		}
		seen[k] = true
		switch k {
		case "type":
			s.Type = val
		case "ref":
			s.Ref = val
		case "dest", "src":
			if k != dirKey(to) {
				return bad("%s takes %s=DIR for type=local, not %s", flag, dirKey(to), k)
			}
			s.Dir = val
		case "mode":
			if !to {
				return bad("mode is a --cache-to option")
			}
			if val != "min" && val != "max" {
				return bad("mode must be min or max")
			}
			s.Mode = val
		case "cache-mounts", "ignore-error", "image-manifest", "oci-mediatypes":
			if !to {
				return bad("%s is a --cache-to option", k)
			}
			b, err := strconv.ParseBool(val)
			if err != nil {
				return bad("%s must be true or false", k)
			}
			switch k {
			case "cache-mounts":
				s.CacheMounts = b
			case "ignore-error":
				s.IgnoreError = b
			default: // buildx options gorae's format always satisfies
				if !b {
					return bad("gorae always writes the cache as an OCI image manifest with OCI media types; drop %s=false", k)
				}
			}
		case "compression", "compression-level", "force-compression":
			return bad("the cache holds the layers as they were built; choose their compression with --compression")
		default:
			return bad("unknown option %q; known: type, ref, %s, mode, cache-mounts, ignore-error", k, dirKey(to))
		}
	}
	switch s.Type {
	case "":
		return bad("type is missing; add type=registry, type=local or type=inline")
	case "registry":
		if s.Ref == "" {
			return bad("type=registry needs ref=REGISTRY/REPO:TAG")
		}
		if _, err := name.ParseReference(s.Ref); err != nil {
			return bad("ref: %v", err)
		}
		if s.Dir != "" {
			return bad("type=registry takes ref=, not %s=", dirKey(to))
		}
	case "local":
		if s.Dir == "" {
			return bad("type=local needs %s=DIR", dirKey(to))
		}
		if s.Ref != "" {
			return bad("type=local takes %s=DIR, not ref=", dirKey(to))
		}
	case "inline":
		if !to {
			return bad("inline records are read from the image itself: use --cache-from IMAGE-REF")
		}
		if s.Ref != "" || s.Dir != "" {
			return bad("type=inline takes no ref or %s: the records go into the built image", dirKey(to))
		}
		if s.Mode == "max" {
			return bad("type=inline supports mode=min only (the image holds only its own layers); use type=registry for mode=max")
		}
		if s.CacheMounts {
			return bad("type=inline cannot carry cache mounts; use type=registry")
		}
	default:
		return bad("unknown type %q; use registry, local or inline", s.Type)
	}
	return s, nil
}

func dirKey(to bool) string {
	if to {
		return "dest"
	}
	return "src"
}

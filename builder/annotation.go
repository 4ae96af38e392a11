package builder

import (
	"fmt"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/images"
)

// Annotation is one --annotation: where it goes (Type "" is the
// manifest, as in BuildKit), for which platform ("" = every one), and the
// key and value.
type Annotation struct {
	Type     string // "", manifest, manifest-descriptor, index, index-descriptor
	Platform string // os/arch[/variant] as given in TYPE[PLATFORM]:, or ""
	Key      string
	Value    string
}

var annotationType = regexp.MustCompile(`^([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?$`)

// ParseAnnotation parses one --annotation value as buildx does:
// KEY=VALUE, or TYPE[,TYPE...]:KEY=VALUE where a TYPE is manifest,
// manifest-descriptor, index or index-descriptor, optionally followed by
// a platform in brackets (manifest[linux/amd64]:KEY=VALUE).
func ParseAnnotation(s string) ([]Annotation, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return nil, fmt.Errorf("invalid annotation %q, expected key=value", s)
	}
	types, key, ok := strings.Cut(k, ":")
	if !ok {
		return []Annotation{{Key: types, Value: v}}, nil
	}
	var out []Annotation
	for _, tp := range strings.Split(types, ",") {
		g := annotationType.FindStringSubmatch(tp)
		if g == nil {
			return nil, fmt.Errorf("invalid annotation type %q, expected type and optional platform in square brackets", tp)
		}
		switch g[1] {
		case "manifest", "manifest-descriptor", "index", "index-descriptor":
		default:
			return nil, fmt.Errorf("unknown annotation type %q in %q: use manifest, manifest-descriptor, index or index-descriptor", g[1], s)
		}
		if g[2] != "" {
			if _, err := images.ParsePlatform(g[2]); err != nil {
				return nil, fmt.Errorf("invalid platform %q in annotation %q: %w", g[2], s, err)
			}
		}
		out = append(out, Annotation{Type: g[1], Platform: g[2], Key: key, Value: v})
	}
	return out, nil
}

// manifestAnnotations are the annotations the image manifest gets on
// platform p. gorae builds one platform's image manifest and no index, so
// an index or descriptor annotation has nowhere to go: that is an error
// (buildx says the same of a single-platform build on Docker's driver),
// as is a platform the build does not make (BuildKit's "no platform
// found").
func manifestAnnotations(as []Annotation, p v1.Platform) (map[string]string, error) {
	var out map[string]string
	for _, a := range as {
		if a.Type != "" && a.Type != "manifest" {
			return nil, &FlagError{Flag: "--annotation", Msg: fmt.Sprintf("%s:%s: gorae builds a single-platform image manifest, with no index or descriptor to carry this annotation; use manifest:%s (the default) instead", a.Type, a.Key, a.Key)}
		}
		if a.Platform != "" {
			ap, err := images.ParsePlatform(a.Platform)
			if err != nil {
				return nil, &FlagError{Flag: "--annotation", Msg: err.Error()}
			}
			if ap.OS != p.OS || ap.Architecture != p.Architecture || (ap.Variant != "" && ap.Variant != p.Variant) {
				return nil, &FlagError{Flag: "--annotation", Msg: fmt.Sprintf("no platform %s found in source: the build makes %s", a.Platform, platformString(p))}
			}
		}
		if out == nil {
			out = map[string]string{}
		}
		out[a.Key] = a.Value
	}
	return out, nil
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

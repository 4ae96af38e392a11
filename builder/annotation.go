package builder

import (
	"fmt"
	"regexp"
	"slices"
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

// indexAnnotations are the --annotation values by where they go.
type indexAnnotations struct {
	manifest   map[string]map[string]string // platform → its manifest's
	descriptor map[string]map[string]string // platform → its descriptor's in the index
	index      map[string]string            // the index's own
}

// planAnnotations sorts the annotations by destination for a build of
// plats. A single-platform build makes one image manifest and no index,
// so an index or descriptor annotation has nowhere to go: that is an
// error (buildx says the same of a single-platform build on Docker's
// driver). A multi-platform build takes manifest (on each platform's
// manifest, or the one in brackets), manifest-descriptor (on its
// descriptor in the index) and index. A platform the build does not make
// is BuildKit's "no platform found" error.
func planAnnotations(as []Annotation, plats []v1.Platform) (indexAnnotations, error) {
	return planIndexAnnotations(as, plats, len(plats) > 1)
}

// planIndexAnnotations is planAnnotations for a build that makes an
// index when index is set: a multi-platform build, or one that attaches
// attestations (they need an index even for one platform).
func planIndexAnnotations(as []Annotation, plats []v1.Platform, index bool) (indexAnnotations, error) {
	out := indexAnnotations{manifest: map[string]map[string]string{}, descriptor: map[string]map[string]string{}}
	// Those for every platform first, so that one for a platform wins
	// whatever the order given, as in BuildKit.
	general := slices.DeleteFunc(slices.Clone(as), func(a Annotation) bool { return a.Platform != "" })
	specific := slices.DeleteFunc(slices.Clone(as), func(a Annotation) bool { return a.Platform == "" })
	for _, a := range slices.Concat(general, specific) {
		switch {
		case a.Type == "" || a.Type == "manifest":
		case a.Type == "manifest-descriptor" && index:
		case a.Type == "index" && index:
			if a.Platform != "" {
				return out, &FlagError{Flag: "--annotation", Msg: fmt.Sprintf("index[%s]:%s: an index annotation takes no platform", a.Platform, a.Key)}
			}
			if out.index == nil {
				out.index = map[string]string{}
			}
			out.index[a.Key] = a.Value
			continue
		case index:
			return out, &FlagError{Flag: "--annotation", Msg: fmt.Sprintf("%s:%s: gorae writes no descriptor for the index itself; use index:%s, manifest-descriptor:%s or manifest:%s", a.Type, a.Key, a.Key, a.Key, a.Key)}
		default:
			return out, &FlagError{Flag: "--annotation", Msg: fmt.Sprintf("%s:%s: gorae builds a single-platform image manifest, with no index or descriptor to carry this annotation; use manifest:%s (the default) instead", a.Type, a.Key, a.Key)}
		}
		dst := out.manifest
		if a.Type == "manifest-descriptor" {
			dst = out.descriptor
		}
		matched := false
		for _, p := range plats {
			if a.Platform != "" {
				ap, err := images.ParsePlatform(a.Platform)
				if err != nil {
					return out, &FlagError{Flag: "--annotation", Msg: err.Error()}
				}
				if ap.OS != p.OS || ap.Architecture != p.Architecture || (ap.Variant != "" && ap.Variant != p.Variant) {
					continue
				}
			}
			matched = true
			ps := images.FormatPlatform(p)
			if dst[ps] == nil {
				dst[ps] = map[string]string{}
			}
			dst[ps][a.Key] = a.Value
		}
		if !matched {
			return out, &FlagError{Flag: "--annotation", Msg: fmt.Sprintf("no platform %s found in source: the build makes %s", a.Platform, platformList(plats))}
		}
	}
	return out, nil
}

// platformList is "linux/amd64, linux/arm64".
func platformList(plats []v1.Platform) string {
	s := make([]string, len(plats))
	for i, p := range plats {
		s[i] = images.FormatPlatform(p)
	}
	return strings.Join(s, ", ")
}

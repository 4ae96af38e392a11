package images

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TEMPORARY until mp-store merges.
func ParsePlatforms(values []string) ([]v1.Platform, error) {
	var out []v1.Platform
	seen := map[string]bool{}
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			p, err := ParsePlatform(strings.TrimSpace(s))
			if err != nil {
				return nil, err
			}
			if p.Architecture == "arm64" && p.Variant == "v8" {
				p.Variant = ""
			}
			if !seen[p.String()] {
				seen[p.String()] = true
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, HostPlatform())
	}
	return out, nil
}

func PushIndex(ctx any, c any, idx v1.ImageIndex, names []string, reg any, p any) error { return nil }

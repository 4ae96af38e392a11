package store

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func isImageType(mt types.MediaType) bool {
	return mt == types.OCIManifestSchema1 || mt == types.DockerManifestSchema2
}

func isIndexType(mt types.MediaType) bool {
	return mt == types.OCIImageIndex || mt == types.DockerManifestList
}

// hostPlatform is the platform Image picks from an index: gorae runs on
// linux only (images.HostPlatform is the same, a level up).
func hostPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

// FormatPlatform is "os/arch[/variant]" (ggcr's String adds the OS
// version).
func FormatPlatform(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// variant is the variant p means, with containerd's defaults: arm64 is
// v8 and amd64 v1 unless they say otherwise (both written as none), a
// bare arm is v7.
func variant(p v1.Platform) string {
	v := strings.ToLower(p.Variant)
	switch {
	case p.Architecture == "arm64" && (v == "v8" || v == "8" || v == "v8.0"):
		return ""
	case p.Architecture == "amd64" && v == "v1":
		return ""
	case p.Architecture == "arm" && v == "":
		return "v7"
	}
	return v
}

// MatchPlatform picks the manifest of an index's descriptors ms for
// platform p: os and arch equal and the same variant; when p names no
// variant, a manifest of another variant is the fallback (as go-
// containerregistry's remote picks). Attestation and other manifests
// without a platform never match.
func MatchPlatform(ms []v1.Descriptor, p v1.Platform) (v1.Descriptor, bool) {
	var fallback *v1.Descriptor
	for i, m := range ms {
		if m.Platform == nil || isIndexType(m.MediaType) || m.Platform.OS != p.OS || m.Platform.Architecture != p.Architecture {
			continue
		}
		if variant(*m.Platform) == variant(p) {
			return m, true
		}
		if p.Variant == "" && fallback == nil {
			fallback = &ms[i]
		}
	}
	if fallback != nil {
		return *fallback, true
	}
	return v1.Descriptor{}, false
}

// configMatches says whether an image with config cf runs on p; what the
// config leaves out matches anything.
func configMatches(cf *v1.ConfigFile, p v1.Platform) bool {
	if cf.OS != "" && p.OS != "" && cf.OS != p.OS {
		return false
	}
	if cf.Architecture != "" && p.Architecture != "" && cf.Architecture != p.Architecture {
		return false
	}
	if cf.Variant != "" && p.Variant != "" && variant(v1.Platform{Architecture: cf.Architecture, Variant: cf.Variant}) != variant(p) {
		return false
	}
	return true
}

// configPlatform is the platform an image's config names, "" when it
// names none.
func configPlatform(cf *v1.ConfigFile) string {
	if cf.OS == "" || cf.Architecture == "" {
		return ""
	}
	return FormatPlatform(v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant})
}

// platforms lists the platforms of an index's image manifests, in order;
// attestations (unknown/unknown) and manifests without one are left out.
func platforms(ms []v1.Descriptor) []string {
	var out []string
	for _, m := range ms {
		if m.Platform == nil || m.Platform.OS == "" || m.Platform.OS == "unknown" || isIndexType(m.MediaType) {
			continue
		}
		out = append(out, FormatPlatform(*m.Platform))
	}
	return out
}

// childLabel names a child manifest by its platform, else its digest.
func childLabel(d v1.Descriptor) string {
	if d.Platform != nil && d.Platform.OS != "" {
		return FormatPlatform(*d.Platform)
	}
	return d.Digest.String()
}

// ErrNoPlatform is matched (errors.Is) by ImageFor's error when the name
// is stored but has no image for the platform (or only its index lists
// one); that error matches ErrNotFound too, so that a resolver pulls it.
var ErrNoPlatform = errors.New("no image for the platform in the local store")

// platformError says that a stored image has no image for a platform.
type platformError struct {
	ref    string
	want   v1.Platform
	have   []string // the index's platforms, or the image's
	index  bool
	absent bool // the index lists the platform, but its manifest was never stored
}

func (e *platformError) Is(target error) bool {
	return target == ErrNotFound || target == ErrNoPlatform
}

func (e *platformError) Error() string {
	want := FormatPlatform(e.want)
	switch {
	case e.absent:
		return fmt.Sprintf("the %s image of %s is not in the local store (only part of the multi-platform image was pulled): pull it with gorae pull --platform %s %s", want, e.ref, want, e.ref)
	case e.index:
		return fmt.Sprintf("%s is a multi-platform image (%s) with no %s image: use --platform", e.ref, strings.Join(e.have, ", "), want)
	}
	return fmt.Sprintf("image %s is for %s, not %s: choose another image or --platform", e.ref, strings.Join(e.have, ", "), want)
}

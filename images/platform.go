package images

import (
	"fmt"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// HostPlatform is the platform this gorae runs on, and builds for when no
// --platform is given.
func HostPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

// ParsePlatform parses a --platform value, os/arch[/variant]; "" is the
// host's platform.
func ParsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		return HostPlatform(), nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("invalid --platform %q: use os/arch[/variant], e.g. linux/amd64", s)
	}
	return *p, nil
}

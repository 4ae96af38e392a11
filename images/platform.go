package images

import (
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/gorae/gorae/store"
)

// HostPlatform is the platform this gorae runs on, and builds for when no
// --platform is given.
func HostPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

// FormatPlatform is "os/arch[/variant]", as the store names platforms.
var FormatPlatform = store.FormatPlatform

// ParsePlatform parses one --platform value, os/arch[/variant] or an OS
// or architecture alone, normalized as containerd does (see
// ParsePlatforms); "" is the host's platform.
func ParsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		return HostPlatform(), nil
	}
	return parsePlatform(s)
}

// ParsePlatforms parses --platform values, each a comma-separated list,
// into platforms in the order given, each once. No platform at all is
// the host's.
func ParsePlatforms(values []string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			p, err := parsePlatform(s)
			if err != nil {
				return nil, err
			}
			if !slices.ContainsFunc(out, func(o v1.Platform) bool { return FormatPlatform(o) == FormatPlatform(p) }) {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, HostPlatform())
	}
	return out, nil
}

// platformPart is what containerd accepts between slashes.
var platformPart = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// parsePlatform parses one platform as containerd's platforms.Parse and
// Normalize do: one part is an OS (for this machine's architecture) or
// an architecture (for this machine's OS); the OS is lower case, the
// architecture's aliases become its Go name (x86_64 is amd64, aarch64
// arm64), and default variants are spelled one way (arm64/v8 is arm64,
// amd64/v1 amd64, arm is arm/v7).
func parsePlatform(s string) (v1.Platform, error) {
	bad := fmt.Errorf("invalid --platform %q: use os/arch[/variant], e.g. linux/amd64", s)
	parts := strings.Split(s, "/")
	if len(parts) > 3 {
		return v1.Platform{}, bad
	}
	for _, p := range parts {
		if !platformPart.MatchString(p) {
			return v1.Platform{}, bad
		}
	}
	var p v1.Platform
	switch len(parts) {
	case 1:
		host := HostPlatform()
		if os := normalizeOS(parts[0]); knownOS[os] {
			p = v1.Platform{OS: os, Architecture: host.Architecture, Variant: host.Variant}
			break
		}
		arch, _ := normalizeArch(parts[0], "")
		if !knownArch[arch] {
			return v1.Platform{}, fmt.Errorf("invalid --platform %q: not an OS or architecture; use os/arch[/variant], e.g. linux/amd64", s)
		}
		p = v1.Platform{OS: host.OS, Architecture: parts[0]}
	case 2:
		p = v1.Platform{OS: parts[0], Architecture: parts[1]}
	case 3:
		p = v1.Platform{OS: parts[0], Architecture: parts[1], Variant: parts[2]}
	}
	p.OS = normalizeOS(p.OS)
	p.Architecture, p.Variant = normalizeArch(p.Architecture, p.Variant)
	return p, nil
}

func normalizeOS(os string) string {
	os = strings.ToLower(os)
	if os == "macos" {
		return "darwin"
	}
	return os
}

// normalizeArch is containerd's, plus i486 to i686.
func normalizeArch(arch, variant string) (string, string) {
	arch, variant = strings.ToLower(arch), strings.ToLower(variant)
	switch arch {
	case "i386", "i486", "i586", "i686":
		return "386", ""
	case "x86_64", "x86-64", "amd64":
		if variant == "v1" {
			variant = ""
		}
		return "amd64", variant
	case "aarch64", "arm64":
		switch variant {
		case "8", "v8", "v8.0":
			variant = ""
		case "9", "9.0", "v9.0":
			variant = "v9"
		}
		return "arm64", variant
	case "armhf":
		return "arm", "v7"
	case "armel":
		return "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
		return "arm", variant
	}
	return arch, variant
}

var knownOS = setOf("aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
	"linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos")

var knownArch = setOf("386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64",
	"mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le",
	"riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

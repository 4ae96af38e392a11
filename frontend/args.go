package frontend

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// envList is an ordered KEY=VALUE list in which setting an existing key
// replaces it in place, as BuildKit's llb.EnvList does. It is immutable:
// set returns a new list, so stages can share a prefix safely.
type envList []string

var _ shell.EnvGetter = envList(nil)

func (l envList) Get(key string) (string, bool) {
	for i := len(l) - 1; i >= 0; i-- {
		k, v, _ := strings.Cut(l[i], "=")
		if k == key {
			return v, true
		}
	}
	return "", false
}

func (l envList) Keys() []string {
	keys := make([]string, 0, len(l))
	for _, kv := range l {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	return keys
}

func (l envList) set(key, value string) envList {
	out := slices.Clone(l)
	for i, kv := range out {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			out[i] = key + "=" + value
			return out
		}
	}
	return append(out, key+"="+value)
}

// nonEnvArgs are build args BuildKit reads itself and never exports to RUN.
var nonEnvArgs = map[string]bool{
	"BUILDKIT_SBOM_SCAN_CONTEXT": true,
	"BUILDKIT_SBOM_SCAN_STAGE":   true,
}

// builtinArgs are build args that count as consumed without an ARG line,
// as in Docker: the proxy variables and BuildKit's own switches.
func builtinArg(key string) bool {
	switch strings.ToLower(key) {
	case "http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy":
		return true
	}
	return strings.HasPrefix(key, "BUILDKIT_") || key == "SOURCE_DATE_EPOCH"
}

// defaultPlatform fills an empty platform with the host's, the way the
// caller is expected to.
func defaultPlatform(p v1.Platform) v1.Platform {
	if p.OS == "" {
		p.OS = "linux"
	}
	if p.Architecture == "" {
		p.Architecture = runtime.GOARCH
	}
	return p
}

// platformString is "os/arch[/variant]".
func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// platformArgs are the automatic global args (BUILDPLATFORM, TARGETOS…);
// a --build-arg of the same name overrides them, as in BuildKit.
func platformArgs(build, target v1.Platform, stage string, overrides map[string]string) envList {
	if stage == "" {
		stage = "default"
	}
	kvs := [...][2]string{
		{"BUILDPLATFORM", platformString(build)},
		{"BUILDOS", build.OS},
		{"BUILDOSVERSION", build.OSVersion},
		{"BUILDARCH", build.Architecture},
		{"BUILDVARIANT", build.Variant},
		{"TARGETPLATFORM", platformString(target)},
		{"TARGETOS", target.OS},
		{"TARGETOSVERSION", target.OSVersion},
		{"TARGETARCH", target.Architecture},
		{"TARGETVARIANT", target.Variant},
		{"TARGETSTAGE", stage},
	}
	var env envList
	for _, kv := range kvs {
		v := kv[1]
		if ov, ok := overrides[kv[0]]; ok {
			v = ov
		}
		env = env.set(kv[0], v)
	}
	return env
}

// metaArgs evaluates the ARGs before the first FROM on top of the platform
// args: a --build-arg wins over the default, a default may use earlier
// args. It returns the global scope and the keys the ARGs declare.
func metaArgs(env envList, lex *shell.Lex, cmds []instructions.ArgCommand, buildArgs map[string]string, src source) (envList, map[string]bool, error) {
	declared := map[string]bool{}
	for _, cmd := range cmds {
		for _, kv := range cmd.Args {
			declared[kv.Key] = true
			if v, ok := buildArgs[kv.Key]; ok {
				env = env.set(kv.Key, v)
				continue
			}
			if kv.Value == nil {
				continue
			}
			v, _, err := lex.ProcessWord(*kv.Value, env)
			if err == nil {
				err = checkExpanded(v)
			}
			if err != nil {
				return nil, nil, src.wrap(err, startLine(cmd.Location()))
			}
			env = env.set(kv.Key, v)
		}
	}
	return env, declared, nil
}

// unusedBuildArgs lists, sorted, the --build-arg keys no ARG consumed.
func unusedBuildArgs(buildArgs map[string]string, consumed map[string]bool) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(buildArgs)) {
		if !consumed[k] && !builtinArg(k) {
			out = append(out, k)
		}
	}
	return out
}

// suggest returns the option closest to val within edit distance 2, or ""
// (BuildKit's "did you mean" rule).
func suggest(val string, options []string) string {
	best, bestDist := "", 3
	for _, o := range options {
		if o == val {
			return ""
		}
		if d := editDistance(val, o); d < bestDist {
			best, bestDist = o, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// maxExpanded bounds what one word may expand to. A variable that
// references itself twice doubles with each redeclaration
// (ARG A=$A$A), so thirty lines would ask for gigabytes; no real value
// comes near a mebibyte.
const maxExpanded = 1 << 20

func checkExpanded(w string) error {
	if len(w) > maxExpanded {
		return fmt.Errorf("a value expands to %d bytes, more than the limit of 1 MiB: check variables that reference themselves (e.g. ARG A=$A$A)", len(w))
	}
	return nil
}

// targetSuffix is BuildKit's "->arm64" after a step's platform when the
// stage's variables (TARGETPLATFORM, or TARGETOS/TARGETARCH/TARGETVARIANT
// declared with ARG) name another target: the cross-compile stage
// "[linux/amd64->arm64 build 2/3]".
func targetSuffix(base v1.Platform, env envList) string {
	var t v1.Platform
	set := false
	if v, ok := env.Get("TARGETPLATFORM"); ok {
		p, err := v1.ParsePlatform(v)
		if err != nil {
			return ""
		}
		t, set = *p, true
	} else {
		for _, kv := range []struct {
			key string
			dst *string
		}{{"TARGETOS", &t.OS}, {"TARGETARCH", &t.Architecture}, {"TARGETVARIANT", &t.Variant}} {
			if v, ok := env.Get(kv.key); ok {
				*kv.dst, set = v, true
			}
		}
	}
	if !set {
		return ""
	}
	if t.OS == "" {
		t.OS = base.OS
	}
	if t.Architecture == "" {
		t.Architecture = base.Architecture
	}
	t.Variant = normalizeVariant(t.Architecture, t.Variant)
	switch {
	case t.OS == base.OS && t.Architecture != base.Architecture:
		if t.Variant != "" {
			return "->" + t.Architecture + "/" + t.Variant
		}
		return "->" + t.Architecture
	case t.OS != base.OS:
		return "->" + platformString(t)
	}
	return ""
}

// normalizeVariant spells arch's variant as containerd's
// platforms.Normalize does, which BuildKit applies to the target before
// naming it: arm alone is arm/v7, arm64/v8 is arm64, amd64/v1 is amd64.
// (A TARGET* arg holds Go's architecture names already.)
func normalizeVariant(arch, variant string) string {
	switch {
	case arch == "arm" && (variant == "" || variant == "7"):
		return "v7"
	case arch == "arm64" && (variant == "8" || variant == "v8" || variant == "v8.0"),
		arch == "amd64" && variant == "v1":
		return ""
	}
	return variant
}

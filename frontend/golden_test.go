package frontend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/imageconfig"
)

var update = flag.Bool("update", false, "rewrite the expectations in testdata/*.txtar")

// archive is a parsed txtar file: a comment, then "-- name --" sections.
type archive struct {
	comment string
	files   []archiveFile
}

type archiveFile struct {
	name string
	data string
}

func parseTxtar(data string) archive {
	var a archive
	cur := -1
	for line := range strings.SplitAfterSeq(data, "\n") {
		trimmed := strings.TrimRight(line, "\n")
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") && len(trimmed) > 6 {
			a.files = append(a.files, archiveFile{name: strings.TrimSpace(trimmed[3 : len(trimmed)-3])})
			cur = len(a.files) - 1
			continue
		}
		if cur < 0 {
			a.comment += line
		} else {
			a.files[cur].data += line
		}
	}
	return a
}

func (a archive) format() string {
	var b strings.Builder
	b.WriteString(a.comment)
	for _, f := range a.files {
		fmt.Fprintf(&b, "-- %s --\n%s", f.name, f.data)
		if f.data != "" && !strings.HasSuffix(f.data, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func (a archive) get(name string) (string, bool) {
	for _, f := range a.files {
		if f.name == name {
			return f.data, true
		}
	}
	return "", false
}

func (a *archive) set(name, data string) {
	for i, f := range a.files {
		if f.name == name {
			a.files[i].data = data
			return
		}
	}
	a.files = append(a.files, archiveFile{name: name, data: data})
}

// fakeResolver serves fixed configs for a few image names and counts the
// calls per (ref, platform).
type fakeResolver struct {
	mu    sync.Mutex
	calls map[string]int
}

func (r *fakeResolver) Resolve(_ context.Context, ref string, p v1.Platform) (*ResolvedImage, error) {
	r.mu.Lock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[ref+" "+platformString(p)]++
	r.mu.Unlock()
	cfg, ok := fakeConfig(ref, p)
	if !ok {
		return nil, fmt.Errorf("%s: not found", ref)
	}
	sum := sha256.Sum256([]byte(ref + " " + platformString(p)))
	return &ResolvedImage{Ref: ref, Digest: "sha256:" + hex.EncodeToString(sum[:]), Config: cfg}, nil
}

const fakePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func fakeConfig(ref string, p v1.Platform) (*imageconfig.File, bool) {
	cfg := &imageconfig.File{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = []v1.Hash{{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}}
	cfg.History = []v1.History{{CreatedBy: "ADD rootfs.tar / # " + ref}}
	c := &cfg.Config
	c.Env = []string{fakePath}
	switch ref {
	case "docker.io/library/busybox:latest", "docker.io/library/busybox:1.36", "localhost:5000/base/busybox:latest":
		c.Cmd = []string{"sh"}
	case "docker.io/library/alpine:3.20", "docker.io/library/alpine:latest":
		c.Cmd = []string{"/bin/sh"}
	case "docker.io/library/golang:1.23":
		c.Env = []string{"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GOLANG_VERSION=1.23.4", "GOPATH=/go"}
		c.WorkingDir = "/go"
		c.Cmd = []string{"bash"}
	case "docker.io/library/nginx:latest":
		c.Entrypoint = []string{"/docker-entrypoint.sh"}
		c.Cmd = []string{"nginx", "-g", "daemon off;"}
		c.ExposedPorts = map[string]struct{}{"80/tcp": {}}
		c.StopSignal = "SIGQUIT"
		c.Labels = map[string]string{"maintainer": "NGINX"}
	case "docker.io/library/onbuild:latest":
		c.WorkingDir = "/app"
		c.OnBuild = []string{"COPY . /app/src", "RUN make -C /app/src"}
	case "docker.io/library/onbuild-from:latest":
		c.OnBuild = []string{"COPY --from=docker.io/library/alpine:3.20 /etc/alpine-release /"}
	case "docker.io/library/user:latest":
		c.User = "app"
		c.WorkingDir = "/home/app"
		c.Env = []string{"HOME=/home/app"} // no PATH: the frontend adds it
	case "docker.io/library/busybox:1.36@sha256:" + strings.Repeat("b", 64):
		c.Cmd = []string{"sh"}
	case "docker.io/library/empty:latest":
		cfg.RootFS.DiffIDs = nil
		cfg.History = []v1.History{{CreatedBy: "LABEL x=y", EmptyLayer: true}}
	case "docker.io/library/amd64only:latest":
		cfg.OS, cfg.Architecture, cfg.Variant = "linux", "amd64", ""
	case "docker.io/library/shell:latest":
		c.Shell = []string{"/bin/bash", "-o", "pipefail", "-c"}
		c.Healthcheck = &imageconfig.HealthConfig{Test: []string{"CMD", "true"}, StartInterval: 2 * time.Second}
	default:
		return nil, false
	}
	return cfg, true
}

// caseOptions reads the args section: KEY=VALUE build args, plus the
// lowercase keys target, platform, buildplatform, implicit-platform,
// context, exclude and label.KEY. "KEY" alone is a build arg with an empty value.
func caseOptions(t *testing.T, dockerfile, args string) Options {
	t.Helper()
	o := Options{
		File:          "Dockerfile",
		Source:        []byte(dockerfile),
		Platform:      v1.Platform{OS: "linux", Architecture: "amd64"},
		BuildPlatform: v1.Platform{OS: "linux", Architecture: "amd64"},
		Resolver:      &fakeResolver{},
	}
	for line := range strings.SplitSeq(args, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		switch {
		case k == "target":
			o.Target = v
		case k == "platform", k == "buildplatform":
			p, err := v1.ParsePlatform(v)
			if err != nil {
				t.Fatalf("args: %v", err)
			}
			if k == "platform" {
				o.Platform = *p
			} else {
				o.BuildPlatform = *p
			}
		case k == "implicit-platform": // as without --platform
			o.PlatformImplicit = true
		case k == "context":
			if o.Contexts == nil {
				o.Contexts = map[string]bool{}
			}
			o.Contexts[v] = true
		case k == "exclude":
			o.Excludes = append(o.Excludes, v)
		case strings.HasPrefix(k, "label."):
			if o.Labels == nil {
				o.Labels = map[string]string{}
			}
			o.Labels[strings.TrimPrefix(k, "label.")] = v
		default:
			if o.BuildArgs == nil {
				o.BuildArgs = map[string]string{}
			}
			o.BuildArgs[k] = v
		}
	}
	return o
}

// TestGolden converts every testdata/*.txtar and compares the dump (plus
// warnings) or the error text with the expectation.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 60 {
		t.Errorf("only %d golden cases, want at least 60", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			t.Parallel()
			dt, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			a := parseTxtar(string(dt))
			dockerfile, ok := a.get("Dockerfile")
			if !ok {
				t.Fatal("no Dockerfile section")
			}
			args, _ := a.get("args")
			o := caseOptions(t, dockerfile, args)
			var warnings []string
			o.Warn = func(w Warning) {
				warnings = append(warnings, fmt.Sprintf("warning: %s:%d: [%s] %s", w.File, w.Line, w.Rule, w.Msg))
			}
			res, err := Convert(t.Context(), o)
			section, got := "dump", ""
			if err != nil {
				section, got = "error", err.Error()+"\n"
			} else {
				got = Dump(res)
				for _, w := range warnings {
					got += w + "\n"
				}
			}
			if *update {
				var kept []archiveFile
				for _, f := range a.files {
					if f.name != "dump" && f.name != "error" {
						kept = append(kept, f)
					}
				}
				a.files = kept
				a.set(section, got)
				if err := os.WriteFile(file, []byte(a.format()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, ok := a.get(section)
			if !ok {
				other := map[string]string{"dump": "error", "error": "dump"}[section]
				w, _ := a.get(other)
				t.Fatalf("got %s, want %s:\n--- got\n%s--- want\n%s", section, other, got, w)
			}
			if got != want {
				t.Errorf("%s mismatch (run go test ./frontend -update to accept):\n--- got\n%s--- want\n%s", section, got, want)
			}
		})
	}
}

func TestTxtarRoundTrip(t *testing.T) {
	in := "comment\n-- Dockerfile --\nFROM scratch\n-- args --\nA=1\n"
	a := parseTxtar(in)
	if got, _ := a.get("Dockerfile"); got != "FROM scratch\n" {
		t.Errorf("Dockerfile = %q", got)
	}
	if a.comment != "comment\n" || len(a.files) != 2 {
		t.Errorf("parsed %+v", a)
	}
	if out := a.format(); out != in {
		t.Errorf("format = %q, want %q", out, in)
	}
	names := []string{}
	for _, f := range a.files {
		names = append(names, f.name)
	}
	if !slices.Equal(names, []string{"Dockerfile", "args"}) {
		t.Errorf("names = %v", names)
	}
}

package gorae_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/gorae/gorae/"

// levels is the architecture of docs/architecture.md: a package may import
// gorae packages on lower levels only.
var levels = map[string]int{
	"graph": 0, "solver": 0, "archive": 0, "content": 0, "registry": 0, "gitsource": 0, "imageconfig": 0, "longpath": 0, "dockerconfig": 0, "binfmt": 0, "imagediff": 0, "attest": 0, "bakefile": 0, "flock": 0,
	"frontend": 1, "snapshot": 1, "runner": 1, "store": 1, "cache": 1, "progress": 1, "copier": 1, "exporter": 1,
	"rootless": 1,
	"sbom":     1,
	"ops":      2, "bake": 2,
	"root": 3, "remotecache": 3, "explain": 3,
	"images": 4, "gc": 4, "kubejob": 4,
	"container": 5, "builder": 5,
	"cmd/gorae": 6,
	// Test helpers sit above everything they start.
	"internal/testutil":             6,
	"internal/testutil/imgdiff":     6,
	"internal/testutil/gitserve":    6,
	"internal/testutil/seccompexec": 6,
	"internal/testutil/fakekubectl": 6,
	// Benchmarks sit above everything they measure.
	"bench": 6,
}

// allowedBuildKit are the only BuildKit packages gorae may use, and only
// from frontend.
var allowedBuildKit = map[string]bool{
	"github.com/moby/buildkit/frontend/dockerfile/parser":       true,
	"github.com/moby/buildkit/frontend/dockerfile/instructions": true,
	"github.com/moby/buildkit/frontend/dockerfile/shell":        true,
	"github.com/moby/buildkit/frontend/dockerfile/linter":       true,
}

func TestImportLevels(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		if pkg == strings.TrimSuffix(module, "/") {
			continue
		}
		lvl, ok := levels[pkg]
		if !ok {
			t.Errorf("package %s has no level: add it to deps_test.go and docs/architecture.md", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			switch {
			case pkg == "runner" && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !strings.HasPrefix(imp, "golang.org/x/sys/"):
				t.Errorf("runner imports %s: the sandbox init runs in runner's init, and every package runner imports, with its own imports, initializes before it (runner/init.go); keep runner on the standard library and golang.org/x/sys", imp)
			case strings.HasPrefix(imp, module):
				dep := strings.TrimPrefix(imp, module)
				if dl, ok := levels[dep]; ok && dl >= lvl {
					t.Errorf("%s (level %d) imports %s (level %d): imports must point to lower levels", pkg, lvl, dep, dl)
				}
			case strings.HasPrefix(imp, "github.com/moby/buildkit/"):
				if !allowedBuildKit[imp] || pkg != "frontend" {
					t.Errorf("%s imports %s: only frontend may import BuildKit, and only its Dockerfile parser, instructions, shell and linter", pkg, imp)
				}
			case pkg == "solver" && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !strings.HasPrefix(imp, "golang.org/x/sync/"):
				t.Errorf("solver imports %s: it may use only the standard library and golang.org/x/sync", imp)
			}
		}
	}
}

// TestPackageDocs: every library package has a doc.go whose comment says
// what the package does and, in one sentence, its level as levels gives
// it ("X is level N: it imports …, never …").
func TestPackageDocs(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Dir}} {{.Name}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, dir, name := strings.TrimPrefix(f[0], module), f[1], f[2]
		lvl, ok := levels[pkg]
		if !ok || name == "main" || pkg == "bench" || strings.HasPrefix(pkg, "internal/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "doc.go"))
		if err != nil {
			t.Errorf("%s has no doc.go: say what it owns, its level and what it must not import", pkg)
			continue
		}
		doc := strings.Join(strings.Fields(strings.ReplaceAll(string(b), "\n//", " ")), " ")
		if !strings.Contains(doc, "// Package "+name+" ") {
			t.Errorf("%s/doc.go does not start its comment with \"Package %s\"", pkg, name)
		}
		want := fmt.Sprintf("%s is level %d: ", name, lvl)
		i := strings.Index(doc, want)
		if i < 0 {
			t.Errorf("%s/doc.go does not say %q (deps_test.go's level)", pkg, want)
			continue
		}
		sentence, _, _ := strings.Cut(doc[i:], ". ")
		if !strings.Contains(sentence, "import") || !(strings.Contains(sentence, "never") || strings.Contains(sentence, "must not")) {
			t.Errorf("%s/doc.go: %q does not say what it imports and what it must never import", pkg, sentence)
		}
	}
}

package gorae_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/gorae/gorae/"

// levels is the architecture of docs/architecture.md: a package may import
// gorae packages on lower levels only.
var levels = map[string]int{
	"graph": 0, "solver": 0, "archive": 0, "content": 0, "registry": 0,
	"frontend": 1, "snapshot": 1, "runner": 1, "store": 1, "cache": 1, "progress": 1, "copier": 1, "exporter": 1,
	"ops":       2,
	"build":     3,
	"cmd/gorae": 4,
	// Test helpers sit above everything they start.
	"internal/testutil":         4,
	"internal/testutil/imgdiff": 4,
	// Benchmarks sit above everything they measure.
	"bench": 4,
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

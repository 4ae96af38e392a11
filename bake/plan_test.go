package bake

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorae/gorae/bakefile"
)

// TestPlanFromTag: a FROM naming another target's tag (any spelling of
// the same name) makes that target a dependency, under the name FROM
// gives; a target's own contexts entry for that name wins; ARGs expand.
func TestPlanFromTag(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile.app"), []byte("ARG BASE=me/base\nFROM ${BASE} AS b\nFROM docker.io/library/busybox\nCOPY --from=b / /\n"), 0o644)
	c := &bakefile.Config{Targets: map[string]*bakefile.Target{
		"base": {Name: "base", Tags: []string{"docker.io/me/base:latest"}, DockerfileInline: "FROM busybox\n"},
		"app":  {Name: "app", Context: dir, Dockerfile: "Dockerfile.app"},
		"pin":  {Name: "pin", Context: dir, Dockerfile: "Dockerfile.app", Contexts: map[string]string{"me/base": "docker-image://me/base:2"}},
	}}
	g, err := Plan(c)
	if err != nil {
		t.Fatal(err)
	}
	if d := g.deps["app"]; len(d) != 1 || d[0].dep != "base" || d[0].ctx != "me/base" {
		t.Errorf("app's deps %+v", d)
	}
	if d := g.deps["pin"]; len(d) != 0 {
		t.Errorf("pin names its own context for me/base, yet deps %+v", d)
	}
	if g.Targets[0].Name != "base" {
		t.Errorf("order %v", g.Targets)
	}
}

// TestPlanCycle: a cycle, through contexts or FROM tags, is an error
// naming its path and each link.
func TestPlanCycle(t *testing.T) {
	_, err := Plan(config("a:b", "b:c", "c:a", "d:"))
	if err == nil || !strings.Contains(err.Error(), "dependency cycle: a -> b -> c -> a") {
		t.Errorf("got %v", err)
	}
	c := &bakefile.Config{Targets: map[string]*bakefile.Target{
		"x": {Name: "x", Tags: []string{"me/x"}, DockerfileInline: "FROM me/y\n"},
		"y": {Name: "y", Tags: []string{"me/y"}, DockerfileInline: "FROM me/x:latest\n"},
	}}
	_, err = Plan(c)
	if err == nil || !strings.Contains(err.Error(), "dependency cycle: x -> y -> x") || !strings.Contains(err.Error(), "dockerfile-inline:1: FROM me/y is y's tag") {
		t.Errorf("got %v", err)
	}
	_, err = Plan(config("self:self"))
	if err == nil || !strings.Contains(err.Error(), "self -> self") {
		t.Errorf("got %v", err)
	}
}

// TestPlanErrors: a target: context to an unknown target; a FROM of a
// tag two targets share (two targets with one tag are fine otherwise:
// buildx's inherits copy tags into test targets).
func TestPlanErrors(t *testing.T) {
	_, err := Plan(config("a:nope"))
	if err == nil || !strings.Contains(err.Error(), `target "a": context nope-ctx=target:nope names no target`) {
		t.Errorf("got %v", err)
	}
	c := &bakefile.Config{Targets: map[string]*bakefile.Target{
		"x": {Name: "x", Tags: []string{"me/x"}, DockerfileInline: "FROM scratch\n"},
		"y": {Name: "y", Tags: []string{"docker.io/me/x:latest"}, DockerfileInline: "FROM scratch\n"},
	}}
	if _, err := Plan(c); err != nil {
		t.Errorf("two targets with one tag, no FROM of it: %v", err)
	}
	c.Targets["z"] = &bakefile.Target{Name: "z", DockerfileInline: "FROM busybox\nFROM me/x AS b\n"}
	if _, err := Plan(c); err == nil || !strings.Contains(err.Error(), `target "z": dockerfile-inline:2: FROM me/x is the tag of targets x and y`) {
		t.Errorf("got %v", err)
	}
	c.Targets["y"].Outputs = []string{"type=cacheonly"}
	if g, err := Plan(c); err != nil || g.Deps("z")[0] != "x" {
		t.Errorf("a tag of a target and of a cacheonly one means the target: %v", err)
	}
	c.Targets["x"].Outputs = []string{"type=cacheonly"}
	if _, err := Plan(c); err == nil {
		t.Error("a tag of two cacheonly targets is ambiguous")
	}
	delete(c.Targets, "z")
	c.Targets["y"].Tags = nil
	c.Targets["y"].DockerfileInline = "FROM"
	if _, err := Plan(c); err == nil || !strings.Contains(err.Error(), `target "y"`) {
		t.Errorf("a broken Dockerfile: got %v", err)
	}
}

package bakefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadLocalFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"docker-bake.hcl", "compose.yaml", "docker-bake.override.hcl"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := ReadLocalFiles(nil, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fs {
		names = append(names, filepath.Base(f.Name))
		if string(f.Data) != filepath.Base(f.Name) {
			t.Errorf("%s holds %q", f.Name, f.Data)
		}
	}
	if got := strings.Join(names, " "); got != "compose.yaml docker-bake.hcl docker-bake.override.hcl" {
		t.Errorf("default lookup order: %s", got)
	}

	fs, err = ReadLocalFiles([]string{filepath.Join(dir, "compose.yaml"), "-"}, dir, strings.NewReader("target \"x\" {}"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[1].Name != "-" || string(fs[1].Data) != `target "x" {}` {
		t.Errorf("-f FILE -f -: %+v", fs)
	}

	missing := filepath.Join(dir, "nope.hcl")
	if _, err := ReadLocalFiles([]string{missing}, dir, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing -f file: err = %v, want it named", err)
	}
}

// A bake file read from stdin has no extension: HCL, else JSON, else
// Compose, as buildx decides.
func TestStdinFormats(t *testing.T) {
	for _, src := range []string{`target "default" { tags = ["x"] }`, `{"target": {"default": {"tags": ["x"]}}}`, "services:\n  default:\n    build: .\n    image: x\n"} {
		c, err := Load([]File{{Name: "-", Data: []byte(src)}}, nil, Options{Env: map[string]string{}})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if tg := c.Targets["default"]; tg == nil || strings.Join(tg.Tags, ",") != "x" {
			t.Errorf("%s: targets %+v", src, c.Targets)
		}
	}
}

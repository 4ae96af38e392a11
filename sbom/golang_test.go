package sbom

import (
	"bufio"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestGoBinary builds a tiny program with a module dependency from the
// module cache (pflag, which gorae requires) and a local replacement,
// puts it, stripped and not, into an image tree and checks Scan lists
// its modules and the standard library, as syft does.
func TestGoBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/app\n\ngo 1.22\n\nrequire (\n\tgithub.com/spf13/pflag v1.1.0\n\texample.com/local v0.0.0\n)\n\nreplace example.com/local => ./local\n")
	write("go.sum", pflagSums(t))
	write("main.go", "package main\n\nimport (\n\t\"example.com/local\"\n\t\"github.com/spf13/pflag\"\n)\n\nfunc main() { pflag.Parse(); local.Hello() }\n")
	write("local/go.mod", "module example.com/local\n\ngo 1.22\n")
	write("local/local.go", "package local\n\nfunc Hello() { println(\"hello\") }\n")
	build := func(out string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(gobin, append(append([]string{"build", "-o", out}, args...), ".")...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod -buildvcs=false", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		b, err := os.ReadFile(filepath.Join(dir, out))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	app := build("app")
	stripped := build("app-stripped", "-ldflags=-s -w", "-trimpath")
	fsys := fstest.MapFS{
		"usr/local/bin/app":     {Data: app, Mode: 0o755},
		"app/server":            {Data: stripped, Mode: 0o700},
		"usr/share/app/app.dat": {Data: app, Mode: 0o644}, // not executable: not scanned
		"proc/1/exe":            {Data: app, Mode: 0o755}, // the kernel's: never walked
		"usr/bin/script":        {Data: []byte("#!/bin/sh\necho not ELF, long enough to be read as a binary ............................\n"), Mode: 0o755},
	}
	goVersion, _, _ := strings.Cut(runtime.Version(), " ")
	var want []Package
	for _, src := range []string{"/app/server", "/usr/local/bin/app"} {
		want = append(want,
			Package{Name: "example.com/app", Version: "(devel)", Type: "golang", PURL: "pkg:golang/example.com/app", Source: src, Arch: runtime.GOARCH},
			Package{Name: "example.com/local", Version: "(devel)", Type: "golang", PURL: "pkg:golang/example.com/local", Source: src, Arch: runtime.GOARCH},
			Package{Name: "github.com/spf13/pflag", Version: "v1.1.0", Type: "golang", PURL: "pkg:golang/github.com/spf13/pflag@v1.1.0", Source: src, Arch: runtime.GOARCH},
			Package{Name: "stdlib", Version: goVersion, Type: "golang", PURL: "pkg:golang/stdlib@" + strings.TrimPrefix(goVersion, "go"),
				Licenses: []string{"BSD-3-Clause"}, Source: src, Arch: runtime.GOARCH},
		)
	}
	comparePackageLists(t, scanFS(t, fsys), sortPackages(want))

	// Files without ReadAt are read into memory first.
	comparePackageLists(t, scanFS(t, noReadAtFS{fsys}), sortPackages(want))
}

// noReadAtFS hides its files' ReadAt, as an FS over a stream would.
type noReadAtFS struct{ fs.FS }

func (f noReadAtFS) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return struct{ fs.File }{file}, nil
}

func (f noReadAtFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(f.FS, name) }

// pflagSums are go.sum's lines for the pflag gorae requires.
func pflagSums(t *testing.T) string {
	f, err := os.Open("../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "github.com/spf13/pflag v1.1.0") {
			b.WriteString(sc.Text() + "\n")
		}
	}
	return b.String()
}

// TestGoTestBinary: this test binary is a Go program built from gorae
// (go test records no dependencies).
func TestGoTestBinary(t *testing.T) {
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Skip(err)
	}
	pkgs := scanFS(t, fstest.MapFS{"bin/sbom.test": {Data: exe, Mode: 0o755}})
	for _, want := range []string{"pkg:golang/github.com/gorae/gorae", "pkg:golang/stdlib@" + strings.TrimPrefix(strings.Fields(runtime.Version())[0], "go")} {
		if !slices.ContainsFunc(pkgs, func(p Package) bool { return p.PURL == want && p.Source == "/bin/sbom.test" }) {
			t.Errorf("no %s in %v", want, pkgs)
		}
	}
}

// TestGoModuleReplace: a replacement by another module names that module;
// one by a directory keeps the required path, with no version.
func TestGoModuleReplace(t *testing.T) {
	for _, c := range []struct {
		dep           debug.Module
		path, version string
	}{
		{debug.Module{Path: "a.com/x", Version: "v1.0.0"}, "a.com/x", "v1.0.0"},
		{debug.Module{Path: "a.com/x", Version: "v1.0.0", Replace: &debug.Module{Path: "b.com/fork", Version: "v1.0.1"}}, "b.com/fork", "v1.0.1"},
		{debug.Module{Path: "a.com/x", Version: "v1.0.0", Replace: &debug.Module{Path: "../x", Version: "(devel)"}}, "a.com/x", "(devel)"},
	} {
		if p, v := goModule(&c.dep); p != c.path || v != c.version {
			t.Errorf("goModule(%+v) = %s %s, want %s %s", c.dep, p, v, c.path, c.version)
		}
	}
}

package bench

import (
	"context"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/sbom"
)

// debianBase is the shared bench's Debian base image (../shared/bench).
const debianBase = "127.0.0.1:5000/base/debian:bookworm"

// BenchmarkSBOMDebian scans the Debian bookworm base image's root file
// system, unpacked once, through archive.RootFS as builds will.
// Issue 14's target: ≤ 0.5 s. The rootfs is $GORAE_BENCH_DEBIAN_ROOTFS
// when set, else debianBase pulled from the bench registry.
func BenchmarkSBOMDebian(b *testing.B) {
	benchmarkScan(b, debianRootfs(b))
}

// BenchmarkSBOMSynthetic scans a tree made from this host (Debian 12):
// its dpkg status (hundreds of packages) and their copyright files, the
// Go toolchain's go and gofmt, its Python dist-packages metadata, and
// 300 of its ELF executables.
func BenchmarkSBOMSynthetic(b *testing.B) {
	benchmarkScan(b, syntheticRootfs(b))
}

func benchmarkScan(b *testing.B, dir string) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	fsys := archive.RootFS{Root: root}
	var pkgs []sbom.Package
	for b.Loop() {
		if pkgs, err = sbom.Scan(b.Context(), fsys); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(pkgs)), "packages")
	start := time.Now()
	if _, err := sbom.SPDX("bench", pkgs, time.Unix(0, 0)); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds()), "µs-spdx")
}

func debianRootfs(b *testing.B) string {
	if dir := os.Getenv("GORAE_BENCH_DEBIAN_ROOTFS"); dir != "" {
		return dir
	}
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
	defer cancel()
	ref, err := name.ParseReference(debianBase, name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	if err != nil {
		b.Skipf("no Debian base image (start ../shared/bench's registry or set GORAE_BENCH_DEBIAN_ROOTFS): %v", err)
	}
	dir := b.TempDir()
	rc := mutate.Extract(img)
	defer rc.Close()
	if _, err := archive.Apply(ctx, dir, rc); err != nil {
		b.Fatalf("unpack %s: %v", debianBase, err)
	}
	return dir
}

func syntheticRootfs(b *testing.B) string {
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		b.Skip("the host has no dpkg database")
	}
	dir := b.TempDir()
	cp := func(src, dst string) {
		in, err := os.Open(src)
		if err != nil {
			return
		}
		defer in.Close()
		fi, err := in.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return
		}
		dst = filepath.Join(dir, dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			b.Fatal(err)
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
		if err != nil {
			b.Fatal(err)
		}
		defer out.Close()
		if _, err := io.Copy(out, in); err != nil {
			b.Fatal(err)
		}
	}
	cp("/var/lib/dpkg/status", "var/lib/dpkg/status")
	cp("/etc/os-release", "etc/os-release")
	docs, _ := filepath.Glob("/usr/share/doc/*/copyright")
	for _, d := range docs {
		cp(d, d)
	}
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		goroot := strings.TrimSpace(string(out))
		cp(filepath.Join(goroot, "bin/go"), "usr/local/go/bin/go")
		cp(filepath.Join(goroot, "bin/gofmt"), "usr/local/go/bin/gofmt")
	}
	for _, pattern := range []string{"*.dist-info/METADATA", "*.egg-info/PKG-INFO", "*.egg-info"} {
		ms, _ := filepath.Glob("/usr/lib/python3/dist-packages/" + pattern)
		for _, m := range ms {
			cp(m, m)
		}
	}
	bins, _ := filepath.Glob("/usr/bin/*")
	n := 0
	for _, p := range bins {
		fi, err := os.Lstat(p)
		if n >= 300 || err != nil || !fi.Mode().IsRegular() || fi.Size() > 2<<20 {
			continue
		}
		if f, err := elf.Open(p); err == nil {
			f.Close()
			cp(p, p)
			n++
		}
	}
	return dir
}

package sbom

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"io"
	"io/fs"
	"runtime/debug"
	"strings"

	"github.com/package-url/packageurl-go"
)

// maxGoInMemory caps how much of an executable is read into memory when
// the file system's files offer no ReadAt (archive.FS's and os files
// do); larger binaries on such a file system are skipped.
const maxGoInMemory = 256 << 20

// goPackages returns the modules a Go executable was built from: its main
// module, every dependency (replacements honoured) and the standard
// library as pkg:golang/stdlib, as syft lists them. Anything but an ELF
// file with Go build info gives none.
func goPackages(fsys fs.FS, p string, size int64) []Package {
	f, err := fsys.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != "\x7fELF" {
		return nil
	}
	ra, ok := f.(io.ReaderAt)
	if !ok {
		if size > maxGoInMemory {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(io.MultiReader(bytes.NewReader(magic[:]), f), maxGoInMemory))
		if err != nil {
			return nil
		}
		ra = bytes.NewReader(b)
	}
	if !mayHaveBuildInfo(ra) {
		return nil
	}
	bi, err := buildinfo.Read(ra)
	if err != nil {
		return nil
	}
	return goModules(bi, "/"+p)
}

// mayHaveBuildInfo spares buildinfo.Read, which scans a whole data
// segment, on the C programs and libraries of an image: the Go linker
// always writes a .go.buildinfo section, so an ELF file whose section
// table lacks one is not Go. A file without a section table may be.
func mayHaveBuildInfo(ra io.ReaderAt) bool {
	ef, err := elf.NewFile(ra)
	if err != nil {
		return false
	}
	if len(ef.Sections) <= 1 {
		return true
	}
	return ef.Section(".go.buildinfo") != nil
}

func goModules(bi *buildinfo.BuildInfo, source string) []Package {
	var arch string
	for _, s := range bi.Settings {
		if s.Key == "GOARCH" {
			arch = s.Value
		}
	}
	var pkgs []Package
	add := func(path, version string) {
		purlVersion := version
		if version == "(devel)" {
			purlVersion = ""
		}
		ns, name := "", path
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			ns, name = path[:i], path[i+1:]
		}
		pkgs = append(pkgs, Package{
			Name: path, Version: version, Type: "golang", Source: source, Arch: arch,
			PURL: packageurl.NewPackageURL(packageurl.TypeGolang, ns, name, purlVersion, nil, "").ToString(),
		})
	}
	if bi.Main.Path != "" {
		v := bi.Main.Version
		if v == "" {
			v = "(devel)"
		}
		add(bi.Main.Path, v)
	}
	for _, dep := range bi.Deps {
		if dep == nil {
			continue
		}
		add(goModule(dep))
	}
	if v, _, _ := strings.Cut(bi.GoVersion, " "); v != "" {
		pkgs = append(pkgs, Package{
			Name: "stdlib", Version: v, Type: "golang", Source: source, Arch: arch,
			Licenses: []string{"BSD-3-Clause"},
			PURL:     packageurl.NewPackageURL(packageurl.TypeGolang, "", "stdlib", strings.TrimPrefix(v, "go"), nil, "").ToString(),
		})
	}
	return pkgs
}

// goModule is the module a dependency really is: its replacement, unless
// that is a local directory, which has no version to name.
func goModule(dep *debug.Module) (path, version string) {
	r := dep.Replace
	switch {
	case r == nil:
		return dep.Path, dep.Version
	case r.Version == "" || r.Version == "(devel)" || strings.HasPrefix(r.Path, ".") || strings.HasPrefix(r.Path, "/"):
		return dep.Path, "(devel)"
	}
	return r.Path, r.Version
}

package sbom

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/package-url/packageurl-go"
)

const (
	dpkgStatus  = "var/lib/dpkg/status"
	dpkgStatusD = "var/lib/dpkg/status.d" // distroless: one file per package
)

var dpkgFields = map[string]bool{
	"Package": true, "Status": true, "Version": true, "Architecture": true,
	"Source": true, "Maintainer": true,
}

// scanDpkg reads dpkg's status database and distroless's status.d
// directory, and each package's machine-readable copyright file for its
// licenses.
func scanDpkg(ctx context.Context, fsys fs.FS, d distro) ([]Package, error) {
	var pkgs []Package
	b, err := readOptional(fsys, dpkgStatus, maxDBSize)
	if err != nil {
		return nil, fmt.Errorf("read /%s: %w", dpkgStatus, err)
	}
	if b != nil {
		pkgs = append(pkgs, dpkgPackages(string(b), "/"+dpkgStatus, d)...)
	}
	names, err := statusDFiles(fsys)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		b, err := readFile(fsys, name, maxDBSize)
		if err != nil {
			return nil, fmt.Errorf("read /%s: %w", name, err)
		}
		pkgs = append(pkgs, dpkgPackages(string(b), "/"+name, d)...)
	}
	for i := range pkgs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pkgs[i].Licenses = dpkgLicenses(fsys, pkgs[i].Name)
	}
	return pkgs, nil
}

// statusDFiles lists the package files of status.d, leaving out the
// .md5sums files distroless puts beside them.
func statusDFiles(fsys fs.FS) ([]string, error) {
	dir, err := resolve(fsys, dpkgStatusD)
	if err != nil {
		return nil, nil // no status.d: not distroless
	}
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, nil
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".md5sums") {
			names = append(names, path.Join(dir, e.Name()))
		}
	}
	return names, nil
}

// dpkgPackages returns the installed packages of a status file. An entry
// counts when dpkg says its files are on disk ("install ok installed",
// also held or marked for removal); status.d entries have no Status.
func dpkgPackages(data, source string, d distro) []Package {
	var pkgs []Package
	for _, st := range parseStanzas(data, dpkgFields) {
		name, version := st["Package"], st["Version"]
		if name == "" || version == "" || !dpkgInstalled(st["Status"]) {
			continue
		}
		srcName, srcVersion := splitDpkgSource(st["Source"])
		p := Package{
			Name: name, Version: version, Type: "deb",
			Source:        source,
			Supplier:      st["Maintainer"],
			Arch:          st["Architecture"],
			SourcePackage: srcName,
		}
		q := map[string]string{"arch": p.Arch}
		switch {
		case srcName != "" && srcVersion != "":
			q["upstream"] = srcName + "@" + srcVersion
		case srcName != "":
			q["upstream"] = srcName
		}
		p.PURL = purl(packageurl.TypeDebian, d.namespace("debian"), name, version, q, d)
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// dpkgInstalled reads a Status field: "want flag status".
func dpkgInstalled(status string) bool {
	if status == "" {
		return true
	}
	f := strings.Fields(status)
	return len(f) == 3 && f[1] == "ok" && f[2] == "installed"
}

// splitDpkgSource splits "glibc (2.36-9)" into its name and version.
func splitDpkgSource(s string) (name, version string) {
	name, rest, ok := strings.Cut(strings.TrimSpace(s), " ")
	if ok {
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
			version = strings.TrimSpace(rest[1 : len(rest)-1])
		}
	}
	return name, version
}

// purl writes a package URL as syft does for distribution packages: the
// given qualifiers (empty ones left out) plus distro=ID-VERSION_ID,
// keys in canonical (sorted) order.
func purl(typ, namespace, name, version string, q map[string]string, d distro) string {
	quals := packageurl.Qualifiers{}
	for k, v := range q {
		if v != "" {
			quals = append(quals, packageurl.Qualifier{Key: k, Value: v})
		}
	}
	if dq := d.qualifier(); dq != "" {
		quals = append(quals, packageurl.Qualifier{Key: "distro", Value: dq})
	}
	if len(quals) == 0 {
		quals = nil
	}
	return packageurl.NewPackageURL(typ, namespace, name, version, quals, "").ToString()
}

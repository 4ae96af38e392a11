package sbom

import (
	"encoding/json"
	"io/fs"
	"strings"

	"github.com/package-url/packageurl-go"
)

const maxJSON = 64 << 20

// npmLicense is package.json's license in any of the forms npm has used:
// "MIT", {"type": "MIT"}, or a legacy "licenses" list of those.
type npmLicense []string

func (l *npmLicense) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = npmLicense{s}
		return nil
	}
	var o struct{ Type string }
	if json.Unmarshal(b, &o) == nil && o.Type != "" {
		*l = npmLicense{o.Type}
		return nil
	}
	var list []struct{ Type string }
	if json.Unmarshal(b, &list) == nil {
		for _, e := range list {
			if e.Type != "" {
				*l = append(*l, e.Type)
			}
		}
	}
	return nil // a license we cannot read is no reason to lose the package
}

type npmManifest struct {
	Name     string
	Version  string
	License  npmLicense
	Licenses npmLicense
}

// npmPackage reads an installed package's package.json.
func npmPackage(fsys fs.FS, p string) []Package {
	b, err := readFile(fsys, p, maxJSON)
	if err != nil {
		return nil
	}
	var m npmManifest
	if json.Unmarshal(b, &m) != nil || m.Name == "" || m.Version == "" {
		return nil
	}
	return []Package{npmPkg(m.Name, m.Version, append(m.License, m.Licenses...), "/"+p)}
}

// npmLockPackage is an entry of lockfile v2 and v3's "packages".
type npmLockPackage struct {
	Name, Version string
	License       npmLicense
	Dev, Link     bool
}

// npmLockDependency is an entry of lockfile v1's "dependencies".
type npmLockDependency struct {
	Version      string
	Dev          bool
	Dependencies map[string]npmLockDependency
}

// npmLockPackages reads a package-lock.json: lockfile v2 and v3's
// "packages" map (keys are install paths), else v1's nested
// "dependencies". Dev dependencies, links and the project itself are left
// out: they are not what the image ships.
func npmLockPackages(fsys fs.FS, p string) []Package {
	b, err := readFile(fsys, p, maxJSON)
	if err != nil {
		return nil
	}
	var lock struct {
		Packages     map[string]npmLockPackage
		Dependencies map[string]npmLockDependency
	}
	if json.Unmarshal(b, &lock) != nil {
		return nil
	}
	var pkgs []Package
	source := "/" + p
	if len(lock.Packages) > 0 {
		for key, e := range lock.Packages {
			i := strings.LastIndex(key, "node_modules/")
			if i < 0 || e.Dev || e.Link || e.Version == "" {
				continue
			}
			name := e.Name
			if name == "" {
				name = key[i+len("node_modules/"):]
			}
			pkgs = append(pkgs, npmPkg(name, e.Version, e.License, source))
		}
		return pkgs
	}
	var walk func(deps map[string]npmLockDependency)
	walk = func(deps map[string]npmLockDependency) {
		for name, e := range deps {
			if e.Dev || e.Version == "" || strings.HasPrefix(e.Version, "file:") {
				continue
			}
			pkgs = append(pkgs, npmPkg(name, e.Version, nil, source))
			walk(e.Dependencies)
		}
	}
	walk(lock.Dependencies)
	return pkgs
}

// npmPkg makes a Package with purl pkg:npm/%40scope/name@version.
func npmPkg(name, version string, licenses []string, source string) Package {
	ns, base := "", name
	if strings.HasPrefix(name, "@") {
		if d, b, ok := strings.Cut(name, "/"); ok {
			ns, base = d, b
		}
	}
	var ls []string
	for _, l := range licenses {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, normalizeLicense(l))
		}
	}
	return Package{
		Name: name, Version: version, Type: "npm", Source: source, Licenses: ls,
		PURL: packageurl.NewPackageURL(packageurl.TypeNPM, ns, base, version, nil, "").ToString(),
	}
}

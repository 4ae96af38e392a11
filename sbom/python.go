package sbom

import (
	"io/fs"
	"regexp"
	"strings"

	"github.com/package-url/packageurl-go"
)

// pep503 matches the runs PEP 503 folds into one "-" in a normalized
// project name.
var pep503 = regexp.MustCompile(`[-_.]+`)

// pythonPackage reads a distribution's core metadata (a dist-info
// METADATA or an egg-info PKG-INFO file): Name, Version, and the license
// from License-Expression, else a one-line License field.
func pythonPackage(fsys fs.FS, p string) []Package {
	b, err := readFile(fsys, p, 16<<20)
	if err != nil {
		return nil
	}
	h := parseCoreMetadata(string(b))
	name, version := h["name"], h["version"]
	if name == "" || version == "" {
		return nil
	}
	pkg := Package{
		Name: name, Version: version, Type: "pypi", Source: "/" + p,
		PURL: packageurl.NewPackageURL(packageurl.TypePyPi, "", pythonName(name), version, nil, "").ToString(),
	}
	if l := h["license-expression"]; l != "" {
		pkg.Licenses = []string{normalizeLicense(l)}
	} else if l := h["license"]; l != "" && !strings.Contains(l, "\n") && len(l) <= 80 && !strings.EqualFold(l, "UNKNOWN") {
		pkg.Licenses = []string{normalizeLicense(l)}
	}
	return []Package{pkg}
}

// pythonName is a project name normalized as PEP 503 says.
func pythonName(name string) string {
	return pep503.ReplaceAllString(strings.ToLower(name), "-")
}

// parseCoreMetadata reads the header block of an email-style metadata
// file, keys in lower case; the first of repeated fields wins.
func parseCoreMetadata(s string) map[string]string {
	h := map[string]string{}
	last := ""
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break // the description body follows
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != "" {
				h[last] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			last = ""
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := h[k]; dup {
			last = ""
			continue
		}
		h[k], last = strings.TrimSpace(v), k
	}
	return h
}

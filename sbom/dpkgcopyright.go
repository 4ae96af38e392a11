package sbom

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
)

// commonLicense matches a copyright file's pointer to Debian's shared
// license texts, the only license hint most non-DEP-5 files give.
var commonLicense = regexp.MustCompile(`/usr/share/common-licenses/([A-Za-z0-9][A-Za-z0-9.+-]*[A-Za-z0-9+])`)

// dpkgLicenses is a best effort: the "License:" short names of the
// package's machine-readable (DEP-5) copyright file and the common
// licenses it points to, as SPDX ids where Debian's names have one,
// sorted. A missing or unreadable file gives none.
func dpkgLicenses(fsys fs.FS, name string) []string {
	b, err := readFile(fsys, "usr/share/doc/"+name+"/copyright", 4<<20)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	for line := range strings.SplitSeq(string(b), "\n") {
		v, ok := strings.CutPrefix(line, "License:")
		if !ok {
			continue
		}
		if v = strings.TrimSpace(v); v != "" {
			seen[normalizeLicense(v)] = true
		}
	}
	for _, m := range commonLicense.FindAllStringSubmatch(string(b), -1) {
		seen[normalizeLicense(strings.TrimSuffix(m[1], "."))] = true
	}
	var out []string
	for l := range seen {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

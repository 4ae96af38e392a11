package sbom

import (
	"bytes"
	"io/fs"
	"slices"
)

// commonLicenses is where Debian keeps the license texts copyright files
// point to, the only license hint most non-DEP-5 files give.
var commonLicenses = []byte("/usr/share/common-licenses/")

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
	for rest := b; ; {
		i := bytes.Index(rest, []byte("License:"))
		if i < 0 {
			break
		}
		line := rest[i+len("License:"):]
		if end := bytes.IndexByte(line, '\n'); end >= 0 {
			line = line[:end]
		}
		if v := bytes.TrimSpace(line); len(v) > 0 && (i == 0 || rest[i-1] == '\n') {
			seen[normalizeLicense(string(v))] = true
		}
		rest = rest[i+len("License:"):]
	}
	for rest := b; ; {
		i := bytes.Index(rest, commonLicenses)
		if i < 0 {
			break
		}
		rest = rest[i+len(commonLicenses):]
		n := 0
		for n < len(rest) && isLicenseFileChar(rest[n]) {
			n++
		}
		if l := bytes.TrimRight(rest[:n], ".-"); len(l) > 0 {
			seen[normalizeLicense(string(l))] = true
		}
	}
	var out []string
	for l := range seen {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

func isLicenseFileChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+'
}

package sbom

import (
	"io/fs"
	"strings"
)

// distro is what /etc/os-release says about the image's distribution:
// the purl namespace (ID) and the distro qualifier (ID-VERSION_ID).
type distro struct {
	ID, VersionID string
}

// qualifier is the value syft writes as a purl's distro qualifier, or ""
// when the image names no distribution.
func (d distro) qualifier() string {
	switch {
	case d.ID == "":
		return ""
	case d.VersionID == "":
		return d.ID
	}
	return d.ID + "-" + d.VersionID
}

// namespace is the purl namespace for the distribution, def when the
// image has no os-release.
func (d distro) namespace(def string) string {
	if d.ID != "" {
		return d.ID
	}
	return def
}

// readDistro reads /etc/os-release, else /usr/lib/os-release; an image
// with neither has the zero distro.
func readDistro(fsys fs.FS) (distro, error) {
	for _, name := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := readOptional(fsys, name, 1<<20)
		if err != nil {
			return distro{}, err
		}
		if b != nil {
			return parseOSRelease(string(b)), nil
		}
	}
	return distro{}, nil
}

func parseOSRelease(s string) distro {
	var d distro
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		v = unquote(strings.TrimSpace(v))
		switch k {
		case "ID":
			d.ID = strings.ToLower(v)
		case "VERSION_ID":
			d.VersionID = v
		}
	}
	return d
}

// unquote removes the shell quoting os-release(5) allows around a value.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
		if strings.Contains(v, `\`) {
			var b strings.Builder
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		}
	}
	return v
}

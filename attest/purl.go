package attest

import (
	"fmt"
	"net/url"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ImagePURL is the package URL BuildKit gives an image reference (its
// util/purl RefToPURL, purl type docker): the familiar name split into
// namespace and name, the tag as version ("latest" when the reference
// names neither tag nor digest), and the qualifiers digest= (for a
// reference by digest) and platform= (when platform is set), e.g.
// "pkg:docker/busybox@latest?platform=linux%2Famd64".
func ImagePURL(ref string, platform *v1.Platform) (string, error) {
	name, tag, digest := splitRef(ref)
	if name == "" {
		return "", fmt.Errorf("image reference %q has no name", ref)
	}
	if tag == "" && digest == "" {
		tag = "latest"
	}
	name = familiar(name)
	ns := ""
	if i := strings.LastIndex(name, "/"); i >= 0 {
		ns, name = name[:i], name[i+1:]
	}
	var b strings.Builder
	b.WriteString("pkg:docker")
	if ns != "" {
		for _, seg := range strings.Split(ns, "/") {
			b.WriteByte('/')
			b.WriteString(purlEscape(seg))
		}
	}
	b.WriteByte('/')
	b.WriteString(purlEscape(name))
	if tag != "" {
		b.WriteByte('@')
		b.WriteString(purlEscape(tag))
	}
	var qs []string // sorted by key, as the purl spec's canonical form
	if digest != "" {
		qs = append(qs, "digest="+purlEscape(digest))
	}
	if platform != nil {
		qs = append(qs, "platform="+purlEscape(FormatPlatform(*platform)))
	}
	if len(qs) > 0 {
		b.WriteByte('?')
		b.WriteString(strings.Join(qs, "&"))
	}
	return b.String(), nil
}

// splitRef splits "host/repo:tag@sha256:…" into its name, tag and
// digest; either of the last two may be "".
func splitRef(ref string) (name, tag, digest string) {
	name = ref
	if i := strings.Index(name, "@"); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

// familiar is a repository name as Docker shows it: without docker.io/
// and, for an official image, without library/.
func familiar(name string) string {
	first, rest, ok := strings.Cut(name, "/")
	if !ok || !strings.ContainsAny(first, ".:") && first != "localhost" {
		first, rest = "docker.io", name // no registry host: Docker Hub
	}
	if first != "docker.io" && first != "index.docker.io" {
		return name
	}
	if r, ok := strings.CutPrefix(rest, "library/"); ok && !strings.Contains(r, "/") {
		return r
	}
	return rest
}

// purlEscape percent-encodes every byte but the unreserved characters
// and ':', as packageurl-go (which BuildKit uses) does.
func purlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// FormatPlatform is "os/arch[/variant]" with containerd's normalization
// (arm64/v8 is arm64, a bare arm is arm/v7), as platforms.Format of a
// normalized platform spells it.
func FormatPlatform(p v1.Platform) string {
	v := strings.ToLower(p.Variant)
	switch {
	case p.Architecture == "arm64" && (v == "v8" || v == "8"):
		v = ""
	case p.Architecture == "amd64" && v == "v1":
		v = ""
	case p.Architecture == "arm" && v == "":
		v = "v7"
	}
	s := p.OS + "/" + p.Architecture
	if v != "" {
		s += "/" + v
	}
	return s
}

// RedactURL masks the user name and password of a URL with xxxxx, as
// BuildKit does before a URL goes into provenance; anything that is not
// a URL is returned as it is.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	const mask = "xxxxx"
	_, hasPassword := u.User.Password()
	switch {
	case u.User.Username() != "" && hasPassword:
		u.User = url.UserPassword(mask, mask)
	case u.User.Username() != "":
		u.User = url.User(mask)
	case hasPassword:
		u.User = url.UserPassword("", mask)
	}
	return u.String()
}

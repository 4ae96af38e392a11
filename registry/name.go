package registry

import (
	"fmt"
	"net"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is how Docker spells the default registry in normalized names;
// go-containerregistry calls it index.docker.io.
const dockerHub = "docker.io"

// Normalize returns the fully qualified form of an image reference, the
// way Docker spells it: "busybox" becomes "docker.io/library/busybox:latest",
// "127.0.0.1:5000/app" becomes "127.0.0.1:5000/app:latest". A digest
// reference keeps its digest (and its tag, if it has one) and gets no
// default tag.
func Normalize(ref string) (string, error) {
	r, err := parse(ref)
	if err != nil {
		return "", err
	}
	reg := r.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	full := reg + "/" + r.Context().RepositoryStr()
	switch r := r.(type) {
	case name.Tag:
		return full + ":" + r.TagStr(), nil
	case name.Digest:
		if tag := explicitTag(ref); tag != "" {
			full += ":" + tag
		}
		return full + "@" + r.DigestStr(), nil
	}
	return "", fmt.Errorf("invalid image name %q: unknown reference kind %T", ref, r)
}

// parse parses ref with go-containerregistry's default (Docker Hub)
// rules and words the error for a user.
func parse(ref string, opts ...name.Option) (name.Reference, error) {
	if ref == "" {
		return nil, fmt.Errorf("invalid image name %q: the name is empty", ref)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("invalid image name %q: %s; use [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST] with a lower-case repository", ref, reason(ref, err))
	}
	return r, nil
}

// reason digs the specific complaint out of go-containerregistry, whose
// ParseReference error only says "could not parse reference".
func reason(ref string, err error) string {
	base, _, hasDigest := strings.Cut(ref, "@")
	if hasDigest {
		if _, derr := name.NewDigest(ref); derr != nil {
			return derr.Error()
		}
	}
	if _, terr := name.NewTag(base); terr != nil {
		return terr.Error()
	}
	return err.Error()
}

// explicitTag returns the tag written in ref ("" if none); a ":" after the
// last "/" is a tag, one before it belongs to a registry port.
func explicitTag(ref string) string {
	base, _, _ := strings.Cut(ref, "@")
	last := base[strings.LastIndex(base, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	if !ok {
		return ""
	}
	return tag
}

// Parse parses ref into a go-containerregistry reference. Loopback
// registries and the hosts in o.Insecure are marked insecure, so they are
// spoken to over plain HTTP; every other registry needs TLS.
func (o Options) Parse(ref string) (name.Reference, error) {
	r, err := parse(ref)
	if err != nil {
		return nil, err
	}
	if !o.plainHTTP(r.Context().RegistryStr()) {
		return r, nil
	}
	return parse(ref, name.Insecure)
}

// plainHTTP reports whether host ("host" or "host:port") may be spoken to
// without TLS.
func (o Options) plainHTTP(host string) bool {
	h := hostname(host)
	if h == "localhost" {
		return true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, in := range o.Insecure {
		in = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(in, "http://"), "https://"), "/")
		if strings.EqualFold(in, host) {
			return true
		}
		// An entry without a port allows every port of that host.
		if hostname(in) == in && strings.EqualFold(in, h) {
			return true
		}
	}
	return false
}

// hostname strips the port and IPv6 brackets from "host:port".
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.Trim(host, "[]")
}

// display returns the registry host of ref as Docker spells it, or ref
// itself if it does not parse.
func display(ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		return ref
	}
	if reg := r.Context().RegistryStr(); reg != name.DefaultRegistry {
		return reg
	}
	return dockerHub
}

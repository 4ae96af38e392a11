package main

import (
	"fmt"
	"maps"
	"math"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gorae/gorae/builder"
	"github.com/gorae/gorae/runner"
)

// buildExtras are the build flags that shape every RUN (--network,
// --add-host, --shm-size, --ulimit), the image (--annotation) and what
// the build does (--call, --check, --load), as `docker buildx build`
// takes them.
type buildExtras struct {
	network     string
	addHosts    []string
	shmSize     string
	ulimits     []string
	annotations []string
	call        string
	check       bool

	// Filled by parse.
	hosts  []string
	shm    int64
	limits []string
	notes  []builder.Annotation
}

func addBuildExtras(fs *pflag.FlagSet) *buildExtras {
	x := &buildExtras{}
	fs.StringVar(&x.network, "network", "default", "network of RUN steps without --network: default (the host's), none (only lo) or host (implies --allow network.host, as buildx)")
	fs.StringArrayVar(&x.addHosts, "add-host", nil, "add HOST:IP (or HOST=IP) to /etc/hosts of RUN steps (repeatable; IP host-gateway is 127.0.0.1, the host)")
	fs.StringVar(&x.shmSize, "shm-size", "", "size of /dev/shm in RUN steps, e.g. 128m (default 64m)")
	fs.StringArrayVar(&x.ulimits, "ulimit", nil, "resource limit of RUN steps NAME=SOFT[:HARD], e.g. nofile=1024:2048 (repeatable)")
	fs.StringArrayVar(&x.annotations, "annotation", nil, "add an annotation to the image manifest: KEY=VALUE or manifest[PLATFORM]:KEY=VALUE (repeatable)")
	fs.Bool("load", false, "accepted for buildx compatibility: gorae always stores the image locally")
	fs.StringVar(&x.call, "call", "build", "what to do: build, check (build checks, no build), outline (build args, secrets, ssh of the target) or targets (the stages)")
	fs.BoolVar(&x.check, "check", false, `shorthand for "--call=check"`)
	return x
}

// parse checks the values; every error is a usage error.
func (x *buildExtras) parse() error {
	if x.check {
		x.call = "check"
	}
	name, err := parseCall(x.call)
	if err != nil {
		return err
	}
	x.call = name
	switch x.network {
	case "", "default", "none", "host":
	default:
		return usagef("invalid --network %q: use default, none or host (gorae has no container networks)", x.network)
	}
	for _, h := range x.addHosts {
		hs, err := parseAddHost(h)
		if err != nil {
			return err
		}
		x.hosts = append(x.hosts, hs...)
	}
	if x.shmSize != "" {
		n, err := parseBytes(x.shmSize)
		if err != nil || n <= 0 {
			return usagef("invalid --shm-size %q: use a size such as 128m or 1g", x.shmSize)
		}
		x.shm = n
	}
	byName := map[string]string{}
	for _, u := range x.ulimits {
		l, err := runner.ParseUlimit(u)
		if err != nil {
			return usagef("--ulimit: %v", err)
		}
		byName[l.Name] = l.String() // the last one of a name wins, as docker's
	}
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		x.limits = append(x.limits, byName[n])
	}
	for _, a := range x.annotations {
		as, err := builder.ParseAnnotation(a)
		if err != nil {
			return usagef("--annotation: %v", err)
		}
		x.notes = append(x.notes, as...)
	}
	return nil
}

// apply puts the parsed values into o.
func (x *buildExtras) apply(o *builder.Options) {
	if x.network != "default" {
		o.Run.Network = x.network
	}
	if x.network == "host" && !slices.Contains(o.Allow, "network.host") {
		o.Allow = append(o.Allow, "network.host")
	}
	o.Run.ExtraHosts, o.Run.ShmSize, o.Run.Ulimits = x.hosts, x.shm, x.limits
	o.Annotations = x.notes
}

// parseAddHost parses one --add-host as buildx does: HOST=IP or HOST:IP,
// several IPs separated by commas, an IPv6 address optionally in
// brackets. The host-gateway IP is the host itself: RUN shares its
// network namespace, where that is 127.0.0.1.
func parseAddHost(h string) ([]string, error) {
	host, ip, ok := strings.Cut(h, "=")
	if !ok {
		host, ip, ok = strings.Cut(h, ":")
	}
	if !ok || host == "" || ip == "" {
		return nil, usagef("invalid --add-host %q: use HOST:IP or HOST=IP, e.g. --add-host db:10.0.0.5", h)
	}
	if ip == "host-gateway" {
		ip = "127.0.0.1"
	}
	var out []string
	for _, v := range strings.Split(ip, ",") {
		if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
			v = v[1 : len(v)-1]
		}
		if net.ParseIP(v) == nil {
			return nil, usagef("invalid --add-host %q: %q is not an IP address", h, v)
		}
		out = append(out, strings.ToLower(host)+"="+v)
	}
	return out, nil
}

var byteSize = regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?(?:[iI]?[bB])?$`)

// parseBytes parses a size as docker's --shm-size does (units'
// RAMInBytes): binary multiples, "128m", "1g", "64MiB", "4096".
func parseBytes(s string) (int64, error) {
	m := byteSize.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}[strings.ToLower(m[2])]
	v := f * mult
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(v), nil
}

// checkIsolation refuses the flags --isolation=chroot cannot honour: it
// mounts nothing (no /dev/shm of a size, no /etc/hosts of the build's)
// and has only the host's network.
func (x *buildExtras) checkIsolation(isolation string) error {
	if isolation != "chroot" {
		return nil
	}
	switch {
	case len(x.addHosts) > 0:
		return usagef("--add-host needs namespaces: --isolation=chroot cannot give RUN an /etc/hosts of its own")
	case x.shmSize != "":
		return usagef("--shm-size needs namespaces: --isolation=chroot mounts nothing, not even /dev/shm")
	case x.network == "none":
		return usagef("--network=none needs namespaces: --isolation=chroot has only the host's network")
	}
	return nil
}

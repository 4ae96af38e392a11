package bakefile

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// override is what the --set values say about one key of one target:
// list keys accumulate values, the others keep the last.
type override struct {
	value    string
	list     []string
	appendTo bool
}

// Keys --set accepts: list keys take several values (and +=), keys
// ending in a dot need a name (args.NAME).
var (
	setListKeys   = []string{"tags", "platform", "output", "cache-from", "cache-to", "secrets", "ssh", "attest", "entitlements", "annotations", "ulimits", "no-cache-filter"}
	setScalarKeys = []string{"context", "dockerfile", "target", "network", "shm-size", "no-cache", "pull", "push", "load"}
	setNamedKeys  = []string{"args", "labels", "contexts", "extra-hosts"}
)

func validSetKeys() string {
	var k []string
	k = append(k, setScalarKeys...)
	k = append(k, setListKeys...)
	for _, n := range setNamedKeys {
		k = append(k, n+".NAME")
	}
	slices.Sort(k)
	return strings.Join(k, ", ")
}

// parseOverrides reads --set PATTERN.KEY=VALUE (and KEY+=VALUE) values;
// PATTERN matches target names as path.Match does (buildx: * and ?).
// args.NAME without a value takes NAME from the environment, if set.
func parseOverrides(c *config, sets []string, env func(string) (string, bool)) (map[string]map[string]*override, error) {
	out := map[string]map[string]*override{}
	for _, s := range sets {
		lhs, value, hasValue := strings.Cut(s, "=")
		appendTo := strings.HasSuffix(lhs, "+")
		lhs = strings.TrimSuffix(lhs, "+")
		keys := strings.SplitN(lhs, ".", 3)
		bad := func(why string) error {
			return fmt.Errorf("--set %s: %s; expected PATTERN.KEY=VALUE with KEY one of %s", s, why, validSetKeys())
		}
		if len(keys) < 2 || keys[0] == "" {
			return nil, bad("no target pattern and key")
		}
		key := keys[1]
		named := slices.Contains(setNamedKeys, key)
		switch {
		case named && (len(keys) != 3 || keys[2] == ""):
			return nil, bad(key + " needs a name (" + key + ".NAME=VALUE)")
		case !named && len(keys) == 3:
			return nil, bad(key + " takes no name")
		case !named && !slices.Contains(setListKeys, key) && !slices.Contains(setScalarKeys, key):
			return nil, bad("unknown key " + strconv.Quote(key))
		case appendTo && !slices.Contains(setListKeys, key):
			return nil, bad(key + " is not a list: += does not apply")
		}
		if !hasValue {
			if key != "args" {
				return nil, bad("no value")
			}
			v, ok := env(keys[2])
			if !ok {
				continue
			}
			value = v
		}
		switch key {
		case "no-cache", "pull", "push", "load":
			if _, err := strconv.ParseBool(value); err != nil {
				return nil, fmt.Errorf("--set %s: invalid value %q for boolean key %s", s, value, key)
			}
		}
		names, err := c.expandTargets(keys[0])
		if err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
		okey := strings.Join(keys[1:], ".")
		for _, n := range names {
			if out[n] == nil {
				out[n] = map[string]*override{}
			}
			o := out[n][okey]
			if o == nil {
				o = &override{}
				out[n][okey] = o
			}
			if slices.Contains(setListKeys, key) {
				o.appendTo = appendTo
				o.list = append(o.list, value)
			} else {
				o.value = value
			}
		}
	}
	return out, nil
}

func (c *config) expandTargets(pattern string) ([]string, error) {
	if c.target(pattern) != nil {
		return []string{pattern}, nil
	}
	var names []string
	for _, t := range c.targets {
		ok, err := path.Match(pattern, t.t.Name)
		if err != nil {
			return nil, fmt.Errorf("bad target pattern %q: %w", pattern, err)
		}
		if ok {
			names = append(names, t.t.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no target matches %q (%s)", pattern, c.knownNames())
	}
	return names, nil
}

// apply sets the overrides on a target (buildx's AddOverrides).
func (p *partial) apply(ovr map[string]*override) {
	t := &p.t
	for _, k := range sortedKeys(ovr) {
		o := ovr[k]
		key, name, _ := strings.Cut(k, ".")
		p.set[key] = true
		list := func(dst *[]string) {
			if o.appendTo {
				*dst = append(*dst, o.list...)
			} else {
				*dst = slices.Clone(o.list)
			}
		}
		b, _ := strconv.ParseBool(o.value)
		switch key {
		case "context":
			t.Context = o.value
		case "dockerfile":
			t.Dockerfile = o.value
		case "target":
			t.Target = o.value
		case "network":
			t.Network = o.value
		case "shm-size":
			t.ShmSize = o.value
		case "args":
			t.Args = mergeMap(t.Args, map[string]string{name: o.value})
		case "labels":
			t.Labels = mergeMap(t.Labels, map[string]string{name: o.value})
		case "contexts":
			t.Contexts = mergeMap(t.Contexts, map[string]string{name: o.value})
		case "extra-hosts":
			p.hosts = mergeMap(p.hosts, map[string]string{name: o.value})
		case "tags":
			list(&t.Tags)
		case "platform":
			list(&t.Platforms)
		case "output":
			list(&t.Outputs)
		case "cache-from":
			list(&t.CacheFrom)
		case "cache-to":
			list(&t.CacheTo)
		case "no-cache-filter":
			list(&t.NoCacheFilter)
		case "ulimits":
			list(&t.Ulimits)
		case "secrets":
			if o.appendTo {
				t.Secrets = mergeKeyed(t.Secrets, o.list, secretKey)
			} else {
				t.Secrets = slices.Clone(o.list)
			}
		case "ssh":
			if o.appendTo {
				t.SSH = mergeKeyed(t.SSH, o.list, sshKey)
			} else {
				t.SSH = slices.Clone(o.list)
			}
		case "attest":
			t.Attest = mergeKeyed(t.Attest, o.list, attestKey)
		case "entitlements":
			t.Entitlements = append(t.Entitlements, o.list...)
		case "annotations":
			t.Annotations = append(t.Annotations, o.list...)
		case "no-cache":
			t.NoCache = &b
		case "pull":
			t.Pull = &b
		case "push":
			t.Outputs = setPush(t.Outputs, b)
		case "load":
			t.Outputs = setLoad(t.Outputs, b)
		}
	}
}

func outputType(o string) string {
	m := csvMap(o)
	if t, ok := m["type"]; ok {
		return t
	}
	if o == "-" {
		return "tar"
	}
	if !strings.Contains(o, "=") {
		return "local"
	}
	return ""
}

// setPush is buildx's push=BOOL: false drops registry outputs and sets
// push=false on image ones; true sets push=true on image outputs, and
// adds type=image,push=true unless some output is neither docker nor
// image.
func setPush(outs []string, push bool) []string {
	var res []string
	addImage := push
	for _, o := range outs {
		switch outputType(o) {
		case "registry":
			if !push {
				continue
			}
			addImage = false
		case "image":
			m := csvMap(o)
			m["push"] = strconv.FormatBool(push)
			o = joinCSV("type", m)
			addImage = false
		case "docker":
		default:
			addImage = false
		}
		res = append(res, o)
	}
	if addImage {
		res = append(res, "type=image,push=true")
	}
	return res
}

// setLoad is buildx's load=true: add type=docker unless a docker output
// without dest exists or an output other than image/registry/oci does.
func setLoad(outs []string, load bool) []string {
	if !load {
		return outs
	}
	for _, o := range outs {
		switch outputType(o) {
		case "docker":
			if csvMap(o)["dest"] == "" {
				return outs
			}
		case "image", "registry", "oci":
		default:
			return outs
		}
	}
	return append(outs, "type=docker")
}

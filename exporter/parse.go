package exporter

import (
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const validTypes = "use image, oci, docker, local or tar"

// allowedKeys lists the keys an output type accepts besides "type".
func allowedKeys(typ string) ([]string, bool) {
	switch typ {
	case "image":
		return []string{"name", "push"}, true
	case "oci":
		return []string{"dest", "tar"}, true
	case "docker":
		return []string{"dest", "name"}, true
	case "local", "tar":
		return []string{"dest", "platform-split"}, true
	}
	return nil, false
}

// Parse parses a --output value the way docker buildx does:
//
//	type=oci,dest=out.tar          OCI layout tar (tar=false: a directory)
//	type=docker,dest=img.tar       `docker load` tarball
//	type=docker[,name=N]           as --load: same as type=image
//	type=local,dest=dir            final root filesystem as a directory
//	type=tar,dest=rootfs.tar       final root filesystem as a tar
//	  platform-split=true|false    one directory per platform (default:
//	                               only with several platforms)
//	type=image[,push=true]         local image store (and registry push)
//	type=registry                  same as type=image,push=true
//	DIR                            same as type=local,dest=DIR
//	-                              same as type=tar,dest=-
//
// Dest "-" is standard output and is allowed only for tar outputs.
func Parse(spec string) (Exporter, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("invalid --output %q: %s", spec, fmt.Sprintf(format, a...))
	}
	switch {
	case spec == "":
		return nil, bad("empty value (%s, e.g. type=local,dest=out)", validTypes)
	case spec == Stdout:
		return Tar{Dest: Stdout}, nil
	case !strings.ContainsAny(spec, "=,"):
		return Local{Dest: spec}, nil
	}
	fields, err := csv.NewReader(strings.NewReader(spec)).Read()
	if err != nil {
		return nil, bad("%v", err)
	}
	kv := map[string]string{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok {
			return nil, bad("%q is not KEY=VALUE", f)
		}
		if _, dup := kv[k]; dup {
			return nil, bad("key %q given twice", k)
		}
		kv[k] = v
	}
	typ, ok := kv["type"]
	if !ok {
		return nil, bad("missing type (%s)", validTypes)
	}
	delete(kv, "type")
	if typ == "registry" {
		if p, ok := kv["push"]; ok && p != "true" {
			return nil, bad("type=registry always pushes; drop push=%s", p)
		}
		typ, kv["push"] = "image", "true"
	}
	allowed, ok := allowedKeys(typ)
	if !ok {
		return nil, bad("unknown type %q (%s)", typ, validTypes)
	}
	for _, k := range sortedKeys(kv) {
		if !slices.Contains(allowed, k) {
			return nil, bad("unknown key %q for type=%s (valid: %s)", k, typ, strings.Join(allowed, ", "))
		}
	}
	dest, hasDest := kv["dest"]
	if typ == "docker" && dest == "" {
		// As buildx's --load (type=docker without dest loads the
		// image into the engine): gorae's store is the engine.
		typ = "image"
	}
	if typ == "docker" && kv["name"] != "" {
		return nil, bad("name= with dest= is not supported: the tarball holds the build's -t names")
	}
	if typ != "image" && (!hasDest || dest == "") {
		return nil, bad("type=%s needs dest=PATH", typ)
	}
	switch typ {
	case "image":
		img := Image{}
		if n := kv["name"]; n != "" {
			img.Names = strings.Split(n, ",")
		}
		if p, ok := kv["push"]; ok {
			if img.Push, err = strconv.ParseBool(p); err != nil {
				return nil, bad("push=%q is not true or false", p)
			}
		}
		return img, nil
	case "oci":
		o := OCI{Dest: dest, Tar: true}
		if t, ok := kv["tar"]; ok {
			if o.Tar, err = strconv.ParseBool(t); err != nil {
				return nil, bad("tar=%q is not true or false", t)
			}
		}
		if !o.Tar && dest == Stdout {
			return nil, bad("dest=- needs a tar; drop tar=false or name a directory")
		}
		return o, nil
	case "docker":
		return Docker{Dest: dest}, nil
	}
	var split *bool
	if v, ok := kv["platform-split"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, bad("platform-split=%q is not true or false", v)
		}
		split = &b
	}
	if typ == "local" {
		if dest == Stdout {
			return nil, bad("type=local writes a directory, not stdout; use type=tar,dest=- for a tar on stdout")
		}
		return Local{Dest: dest, PlatformSplit: split}, nil
	}
	return Tar{Dest: dest, PlatformSplit: split}, nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Image is type=image: the image goes to the local image store and, with
// Push, to the registry under every name. Names from name= are added to
// the names Export receives. The store's sink lives above this package:
// the caller sets Store, or leaves it nil when it stores every image
// anyway, and sets Registry.Options (insecure registries, credentials)
// before Export.
type Image struct {
	Names    []string
	Push     bool
	Store    Exporter
	Registry Registry
}

var _ Exporter = Image{}

func (i Image) Export(ctx context.Context, img v1.Image, names []string) error {
	all := append(slices.Clone(names), i.Names...)
	if i.Store != nil {
		if err := i.Store.Export(ctx, img, all); err != nil {
			return err
		}
	}
	if !i.Push {
		return nil
	}
	return i.Registry.Export(ctx, img, all)
}

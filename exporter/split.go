package exporter

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// annotationRefType marks a BuildKit attestation manifest in an index: it
// describes an image and has no filesystem of its own to export.
const annotationRefType = "vnd.docker.reference.type"

// part is one platform's image in a filesystem export (type=local or
// type=tar) and where it goes.
type part struct {
	// id is the platform as BuildKit spells it (linux/arm/v7), or ""
	// for a single image exported as it is.
	id  string
	img v1.Image
	// dir is the subdirectory of the destination the part goes to, or
	// "" for the destination itself.
	dir string
	// dirs, when the parts are merged into one directory, remembers the
	// directories already written: the first platform's metadata wins.
	dirs map[string]bool
}

// filter drops the entries of p that must not be written: the image's
// root in a platform subdirectory (which is a plain 0755 directory, as
// BuildKit makes it) and, when merging, a directory already written.
func (p part) filter(fn func(h *tar.Header, r io.Reader) error) func(h *tar.Header, r io.Reader) error {
	return func(h *tar.Header, r io.Reader) error {
		if p.dir != "" && h.Name == "." {
			return nil
		}
		if p.dirs != nil && h.Typeflag == tar.TypeDir {
			if p.dirs[h.Name] {
				return nil
			}
			p.dirs[h.Name] = true
		}
		return fn(h, r)
	}
}

// imagePart is the one part of a single image: at the destination
// itself, or with platform-split=true in its platform's subdirectory, as
// BuildKit does.
func imagePart(img v1.Image, split *bool) ([]part, error) {
	p := part{img: img}
	if split == nil || !*split {
		return []part{p}, nil
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	if cf.OS == "" || cf.Architecture == "" {
		return nil, fmt.Errorf("platform-split=true names the directory after the image's platform, but its config has no os and architecture; drop platform-split=true")
	}
	p.id = platformID(v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion})
	p.dir = platformDir(p.id)
	return []part{p}, nil
}

// indexParts lists the platform images of idx in index order, each in
// its platform's subdirectory unless split is false.
func indexParts(idx v1.ImageIndex, split *bool) ([]part, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	var ps []part
	seen := map[string]bool{}
	for _, d := range im.Manifests {
		if d.Annotations[annotationRefType] == "attestation-manifest" {
			continue
		}
		if !d.MediaType.IsImage() {
			return nil, fmt.Errorf("index entry %s is a %s, not an image: only an index of images can be exported as files", d.Digest, d.MediaType)
		}
		if d.Platform == nil || d.Platform.OS == "" || d.Platform.Architecture == "" {
			return nil, fmt.Errorf("index entry %s has no platform to name its directory after", d.Digest)
		}
		id := platformID(*d.Platform)
		if seen[id] {
			return nil, fmt.Errorf("index has two images for platform %s", id)
		}
		seen[id] = true
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("read image %s (%s): %w", d.Digest, id, err)
		}
		ps = append(ps, part{id: id, img: img})
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("image index has no image to export")
	}
	if split != nil && !*split {
		dirs := map[string]bool{}
		for i := range ps {
			ps[i].dirs = dirs
		}
		return ps, nil
	}
	for i := range ps {
		ps[i].dir = platformDir(ps[i].id)
	}
	return ps, nil
}

// planParts plans the filesystem of every part before anything is
// written. Parts merged into one directory must not both have a path
// unless it is a directory in both: BuildKit refuses such an export
// rather than let one platform's file silently replace another's.
func planParts(ctx context.Context, ps []part) ([]*flatPlan, error) {
	plans := make([]*flatPlan, len(ps))
	for i, p := range ps {
		plan, err := planImage(ctx, p.img)
		if err != nil {
			if p.id != "" {
				return nil, fmt.Errorf("platform %s: %w", p.id, err)
			}
			return nil, err
		}
		plans[i] = plan
	}
	if len(ps) < 2 || ps[0].dirs == nil {
		return plans, nil
	}
	type owner struct {
		id  string
		dir bool
	}
	seen := map[string]owner{}
	for i, plan := range plans {
		var err error
		plan.tree.walk(func(p string, dir bool) bool {
			o, ok := seen[p]
			if !ok {
				seen[p] = owner{ps[i].id, dir}
				return true
			}
			if o.dir && dir {
				return true
			}
			err = fmt.Errorf("cannot overwrite /%s from %s with %s when platform-split=false: give the files of each platform their own names, or drop platform-split=false for one directory per platform", p, o.id, ps[i].id)
			return false
		})
		if err != nil {
			return nil, err
		}
	}
	return plans, nil
}

// platformID spells p as BuildKit's platform IDs (containerd's
// platforms.FormatAll): os[(osversion)]/arch[/variant].
func platformID(p v1.Platform) string {
	os := p.OS
	if p.OSVersion != "" {
		os += "(" + p.OSVersion + ")"
	}
	return path.Join(os, p.Architecture, p.Variant)
}

// platformDir turns a platform ID into one path component, as BuildKit's
// local exporter does: linux/arm/v7 becomes linux_arm_v7.
func platformDir(id string) string {
	id = strings.NewReplacer("/", "_", `\`, "_", ":", "_").Replace(id)
	if id == "." || id == ".." {
		return strings.Repeat("_", len(id))
	}
	return id
}

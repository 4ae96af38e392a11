package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/registry"
)

// Store is the local image store at one directory, over one content store.
type Store struct {
	dir string
	c   *content.Store
}

// Open opens (creating if needed) the image store at dir whose blobs live
// in c.
func Open(dir string, c *content.Store) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	return &Store{dir: dir, c: c}, nil
}

// ErrNotFound is matched (errors.Is) by every error saying that an image
// is not in the local store.
var ErrNotFound = errors.New("image not found in the local store")

type notFound struct{ ref string }

func (e *notFound) Error() string {
	return fmt.Sprintf("image %s not found in the local store: build it with -t, pull it, or check the name with gorae images", e.ref)
}
func (e *notFound) Is(target error) bool { return target == ErrNotFound }

// Image is one line of List.
type Image struct {
	Name    string  // normalized name; "" for an image stored without one
	Digest  v1.Hash // of the manifest
	Size    int64   // manifest, config and compressed layers
	Created time.Time
}

// resolve finds ref in idx: by normalized name, by a name@digest, or by
// a unique manifest digest prefix ("sha256:ab12" or "ab12"). name is the
// matched name, "" when ref matched a digest.
func resolve(idx *v1.IndexManifest, ref string) (d v1.Descriptor, name string, err error) {
	full, nerr := registry.Normalize(ref)
	if nerr == nil {
		if _, dig, ok := strings.Cut(full, "@"); ok {
			for _, m := range idx.Manifests {
				if m.Digest.String() == dig {
					return m, "", nil
				}
			}
			return v1.Descriptor{}, "", &notFound{ref: full}
		}
		for _, m := range idx.Manifests {
			if m.Annotations[refName] == full {
				return m, full, nil
			}
		}
	}
	prefix := strings.TrimPrefix(ref, "sha256:")
	if !isHex(prefix) {
		if nerr != nil {
			return v1.Descriptor{}, "", nerr
		}
		return v1.Descriptor{}, "", &notFound{ref: full}
	}
	var found []v1.Descriptor
	for _, m := range idx.Manifests {
		if strings.HasPrefix(m.Digest.Hex, prefix) && !slices.ContainsFunc(found, func(f v1.Descriptor) bool { return f.Digest == m.Digest }) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		if nerr == nil {
			return v1.Descriptor{}, "", &notFound{ref: full}
		}
		return v1.Descriptor{}, "", &notFound{ref: ref}
	case 1:
		return found[0], "", nil
	}
	return v1.Descriptor{}, "", fmt.Errorf("image ID %s is ambiguous: it is a prefix of %d stored images; give more digits", ref, len(found))
}

func isHex(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Image returns the stored image ref names (see List for the forms
// accepted) and its manifest digest. The image is a full v1.Image whose
// blobs are read from the content store on demand.
func (s *Store) Image(ctx context.Context, ref string) (v1.Image, v1.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, v1.Hash{}, err
	}
	idx, err := s.readIndex()
	if err != nil {
		return nil, v1.Hash{}, err
	}
	d, _, err := resolve(idx, ref)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	img, err := s.load(d)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("load image %s: %w", ref, err)
	}
	return img, d.Digest, nil
}

// List returns every stored image, sorted by name (unnamed images first,
// by digest).
func (s *Store) List(ctx context.Context) ([]Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []Image
	for _, d := range idx.Manifests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		im := Image{Name: d.Annotations[refName], Digest: d.Digest, Size: d.Size}
		img, err := s.load(d)
		if err != nil {
			return nil, fmt.Errorf("list images: %s: %w", im.Name, err)
		}
		if m, err := img.Manifest(); err == nil {
			im.Size += m.Config.Size
			for _, l := range m.Layers {
				im.Size += l.Size
			}
		}
		if cf, err := img.ConfigFile(); err == nil {
			im.Created = cf.Created.Time
		}
		out = append(out, im)
	}
	slices.SortFunc(out, func(a, b Image) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Digest.Hex, b.Digest.Hex)
	})
	return out, nil
}

// Tag gives the image src (any form Image accepts) the name dst.
func (s *Store) Tag(ctx context.Context, src, dst string) error {
	name, err := tagName(dst)
	if err != nil {
		return err
	}
	return s.update(ctx, func(idx *v1.IndexManifest) error {
		d, _, err := resolve(idx, src)
		if err != nil {
			return err
		}
		setName(idx, name, d)
		return nil
	})
}

// Remove removes a name from the store. Given a digest or digest prefix
// instead, it removes every name of that image. Blobs stay for the
// garbage collector.
func (s *Store) Remove(ctx context.Context, ref string) error {
	return s.update(ctx, func(idx *v1.IndexManifest) error {
		d, name, err := resolve(idx, ref)
		if err != nil {
			return err
		}
		idx.Manifests = slices.DeleteFunc(idx.Manifests, func(m v1.Descriptor) bool {
			if name != "" {
				return m.Annotations[refName] == name
			}
			return m.Digest == d.Digest
		})
		return nil
	})
}

// tagName normalizes a name an image can be stored under: a tag, never a
// digest.
func tagName(ref string) (string, error) {
	full, err := registry.Normalize(ref)
	if err != nil {
		return "", err
	}
	if strings.Contains(full, "@") {
		return "", fmt.Errorf("invalid image name %q: a stored image is named by tag; drop the @digest part", ref)
	}
	return full, nil
}

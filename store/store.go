package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

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

// resolve finds ref in idx: by normalized name, by a name@digest, or by
// a unique manifest digest prefix ("sha256:ab12" or "ab12"). name is the
// matched name, "" when ref matched a digest. children, when set, gives
// more manifests a digest may match: the present image manifests of
// stored indexes.
func resolve(idx *v1.IndexManifest, ref string, children func() []v1.Descriptor) (d v1.Descriptor, name string, err error) {
	// Only a digest reads the indexes' children.
	byDigest := func() []v1.Descriptor {
		if children == nil {
			return idx.Manifests
		}
		return slices.Concat(idx.Manifests, children())
	}
	full, nerr := registry.Normalize(ref)
	if nerr == nil {
		if _, dig, ok := strings.Cut(full, "@"); ok {
			for _, m := range byDigest() {
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
	for _, m := range byDigest() {
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

// Image returns the stored image ref names (see resolve for the forms
// accepted) and its manifest digest. The image is a full v1.Image whose
// blobs are read from the content store on demand. A name of a
// multi-platform image gives its image for this machine's platform (an
// error matching ErrNotFound when it has none); a digest may also be one
// of a stored index's image manifests.
func (s *Store) Image(ctx context.Context, ref string) (v1.Image, v1.Hash, error) {
	return s.image(ctx, ref, nil)
}

// ImageFor returns the stored image ref names for platform p: the image
// of a multi-platform image for p, or a single image whose config names p
// (or no platform). When there is none, or the index's image for p was
// never pulled, the error matches ErrNotFound and says what is there.
func (s *Store) ImageFor(ctx context.Context, ref string, p v1.Platform) (v1.Image, v1.Hash, error) {
	return s.image(ctx, ref, &p)
}

// image is Image when p is nil, else ImageFor.
func (s *Store) image(ctx context.Context, ref string, p *v1.Platform) (v1.Image, v1.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, v1.Hash{}, err
	}
	idx, err := s.readIndex()
	if err != nil {
		return nil, v1.Hash{}, err
	}
	d, name, err := resolve(idx, ref, s.children(idx))
	if err != nil {
		return nil, v1.Hash{}, err
	}
	if name == "" {
		name = ref
	}
	if isIndexType(d.MediaType) {
		want := hostPlatform()
		if p != nil {
			want = *p
		}
		return s.child(d, name, want)
	}
	img, err := s.load(d)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("load image %s: %w", ref, err)
	}
	if p != nil {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, v1.Hash{}, fmt.Errorf("load image %s: %w", ref, err)
		}
		if !configMatches(cf, *p) {
			return nil, v1.Hash{}, &platformError{ref: name, want: *p, have: []string{configPlatform(cf)}}
		}
	}
	return img, d.Digest, nil
}

// child loads the image for p of the index d, which name names.
func (s *Store) child(d v1.Descriptor, name string, p v1.Platform) (v1.Image, v1.Hash, error) {
	im, err := s.readIndexManifest(d.Digest)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("load image %s: %w", name, err)
	}
	c, ok := MatchPlatform(im.Manifests, p)
	if !ok {
		return nil, v1.Hash{}, &platformError{ref: name, want: p, have: platforms(im.Manifests), index: true}
	}
	if !s.c.Has(c.Digest) {
		return nil, v1.Hash{}, &platformError{ref: name, want: p, index: true, absent: true}
	}
	img, err := s.load(c)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("load the %s image of %s: %w", FormatPlatform(p), name, err)
	}
	return img, c.Digest, nil
}

// ErrNotIndex is matched (errors.Is) by Index's error for a name of a
// single-platform image.
var ErrNotIndex = errors.New("not a multi-platform image")

// Index returns the stored multi-platform image ref names and the
// digest of its index. Its Image gives a child image whose manifest is
// stored, and an error naming the platform to pull for one that is not.
// For a single image the error matches ErrNotIndex.
func (s *Store) Index(ctx context.Context, ref string) (v1.ImageIndex, v1.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, v1.Hash{}, err
	}
	idx, err := s.readIndex()
	if err != nil {
		return nil, v1.Hash{}, err
	}
	d, name, err := resolve(idx, ref, nil)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	if name == "" {
		name = ref
	}
	if !isIndexType(d.MediaType) {
		return nil, v1.Hash{}, fmt.Errorf("%s is a single-platform image: %w", name, ErrNotIndex)
	}
	ii, err := s.loadIndex(d, name)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("load image index %s: %w", name, err)
	}
	return ii, d.Digest, nil
}

// Tag gives the image src (any form Image accepts) the name dst.
func (s *Store) Tag(ctx context.Context, src, dst string) error {
	name, err := tagName(dst)
	if err != nil {
		return err
	}
	return s.update(ctx, func(idx *v1.IndexManifest) error {
		d, _, err := resolve(idx, src, s.children(idx))
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
		d, name, err := resolve(idx, ref, nil)
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

// tagNames normalizes every name (see tagName).
func tagNames(names []string) ([]string, error) {
	full := make([]string, 0, len(names))
	for _, n := range names {
		f, err := tagName(n)
		if err != nil {
			return nil, err
		}
		full = append(full, f)
	}
	return full, nil
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

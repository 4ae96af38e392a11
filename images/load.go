package images

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
)

// Load reads a `docker save` tar or an OCI layout tar into the store and
// returns the names it stored.
func Load(ctx context.Context, root *root.Root, path string) ([]string, error) {
	unlock, err := root.Lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	isOCI, err := tarHas(path, "oci-layout")
	if err != nil {
		return nil, err
	}
	if isOCI {
		return loadOCI(ctx, root, path)
	}
	return loadDocker(ctx, root, path)
}

func loadDocker(ctx context.Context, root *root.Root, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var manifest []struct{ RepoTags []string }
	if err := readTarJSON(f, "manifest.json", &manifest); err != nil {
		return nil, fmt.Errorf("load %s: not a docker-save tar (%w)", path, err)
	}
	var loaded []string
	for _, m := range manifest {
		if len(m.RepoTags) == 0 {
			continue
		}
		tag, err := name.NewTag(m.RepoTags[0])
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", path, err)
		}
		img, err := tarball.ImageFromPath(path, &tag)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", path, err)
		}
		names := make([]string, 0, len(m.RepoTags))
		for _, t := range m.RepoTags {
			n, err := registry.Normalize(t)
			if err != nil {
				return nil, err
			}
			names = append(names, n)
		}
		if err := root.Images.Export(ctx, img, names); err != nil {
			return nil, err
		}
		loaded = append(loaded, names...)
	}
	if len(loaded) == 0 {
		return nil, fmt.Errorf("load %s: the tar names no image (RepoTags is empty)", path)
	}
	return loaded, nil
}

func loadOCI(ctx context.Context, root *root.Root, path string) ([]string, error) {
	dir, err := os.MkdirTemp(root.Tmp, "load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := untarPlain(path, dir); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var loaded []string
	for _, d := range im.Manifests {
		n := d.Annotations["io.containerd.image.name"]
		if n == "" {
			n = d.Annotations["org.opencontainers.image.ref.name"]
		}
		if n == "" || (!d.MediaType.IsImage() && !d.MediaType.IsIndex()) {
			continue
		}
		norm, err := registry.Normalize(n)
		if err != nil {
			return nil, err
		}
		if d.MediaType.IsIndex() { // a multi-platform image
			ii, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if err := root.Images.ExportIndex(ctx, ii, []string{norm}); err != nil {
				return nil, err
			}
			loaded = append(loaded, norm)
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		if err := root.Images.Export(ctx, img, []string{norm}); err != nil {
			return nil, err
		}
		loaded = append(loaded, norm)
	}
	if len(loaded) == 0 {
		return nil, fmt.Errorf("load %s: the OCI layout names no image", path)
	}
	return loaded, nil
}

func tarHas(path, member string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read %s: %w", path, err)
		}
		if strings.TrimPrefix(h.Name, "./") == member {
			return true, nil
		}
	}
}

func readTarJSON(r io.Reader, member string, v any) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("no %s", member)
		}
		if err != nil {
			return err
		}
		if strings.TrimPrefix(h.Name, "./") == member {
			return json.NewDecoder(tr).Decode(v)
		}
	}
}

// untarPlain extracts regular files and directories of an OCI layout tar
// into dir, refusing paths that leave it.
func untarPlain(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Clean(strings.TrimPrefix(h.Name, "./"))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := root.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			w, err := root.Create(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(w, tr)
			w.Close()
			if err != nil {
				return err
			}
		}
	}
}

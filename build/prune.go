package build

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/ops"
)

// Usage is the disk use of one kind of data in the root.
type Usage struct {
	Kind  string
	Count int
	Size  int64
}

// Prune removes what no named image needs: with all, every cache record
// and unpacked layer too (the next build starts cold); without, blobs
// that neither an image nor a cache record references.
func Prune(ctx context.Context, root *Root, all bool) (int64, error) {
	unlock, err := root.lock(ctx, true)
	if err != nil {
		return 0, err
	}
	defer unlock()
	var freed int64
	if all {
		if err := root.Cache.Clear(); err != nil {
			return 0, err
		}
		for _, d := range []string{"snapshots", "statcache"} {
			n, err := removeChildren(filepath.Join(root.Dir, d))
			freed += n
			if err != nil {
				return freed, err
			}
		}
	}
	keep, err := reachable(ctx, root)
	if err != nil {
		return freed, err
	}
	if !all {
		if err := root.Cache.Each(func(s *ops.State) {
			for _, l := range s.Layers {
				keep[l.Digest] = true
			}
		}); err != nil {
			return freed, err
		}
	}
	err = root.Content.Walk(func(d v1.Hash, size int64) error {
		if keep[d] {
			return nil
		}
		if err := root.Content.Remove(d); err != nil {
			return err
		}
		freed += size
		return nil
	})
	return freed, err
}

// reachable lists the blobs of every named image.
func reachable(ctx context.Context, root *Root) (map[v1.Hash]bool, error) {
	keep := map[v1.Hash]bool{}
	list, err := root.Images.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, im := range list {
		keep[im.Digest] = true
		img, _, err := root.Images.Image(ctx, im.Digest.String())
		if err != nil {
			continue // a broken image keeps what it still has; it must not stop GC
		}
		if cfg, err := img.ConfigName(); err == nil {
			keep[cfg] = true
		}
		m, err := img.Manifest()
		if err != nil {
			continue
		}
		for _, l := range m.Layers {
			keep[l.Digest] = true
		}
	}
	return keep, nil
}

// DiskUsage reports the size of blobs, unpacked layers and cache records.
func DiskUsage(root *Root) ([]Usage, error) {
	var out []Usage
	for _, k := range []struct{ kind, dir string }{
		{"blobs", "content"}, {"snapshots", "snapshots"}, {"cache records", "cache"},
	} {
		u := Usage{Kind: k.kind}
		err := filepath.WalkDir(filepath.Join(root.Dir, k.dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					u.Count++
					u.Size += fi.Size()
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func removeChildren(dir string) (int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return 0, nil
		}
		return 0, err
	}
	var size int64
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					size += fi.Size()
				}
			}
			return nil
		})
		if err := os.RemoveAll(p); err != nil {
			return size, err
		}
	}
	return size, nil
}

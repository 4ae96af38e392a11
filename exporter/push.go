package exporter

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/registry"
)

// Registry pushes the image, or the image index, under every name. Names
// in one repository share one upload: the first is written with
// remote.Push (concurrent layer uploads, existing blobs skipped, layers
// pulled from the same registry mounted across repositories; for an
// index, every platform manifest before the index) and the others only
// get the manifest.
type Registry struct {
	Options registry.Options
	// Progress, when set, receives upload progress; it is called from
	// one goroutine at a time and must not block for long.
	Progress func(PushEvent)
	// Lazy, when set, says for a layer that is not local (a lazy layer,
	// see content.RemoteSource) the repository it can be mounted from.
	// A push to that repository's registry offers the layer as mountable
	// from it, so the registry copies it and it is never downloaded; a
	// push to another registry, or a refused mount, reads the layer (which
	// fetches it) and uploads it. Either way a blob the destination
	// already has is neither read nor sent.
	Lazy func(d v1.Hash) (name.Repository, bool)
}

// PushEvent reports the progress of pushing the image (or image index,
// counting every platform's blobs) Digest to Name: Done of Size bytes
// uploaded so far. Status is "pushing", "pushed" or "tagged" (manifest
// only, blobs were already there).
type PushEvent struct {
	Name   string
	Digest v1.Hash
	Size   int64
	Done   int64
	Status string
}

var (
	_ Exporter      = Registry{}
	_ IndexExporter = Registry{}
)

func (r Registry) Export(ctx context.Context, img v1.Image, names []string) error {
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("digest image: %w", err)
	}
	return r.push(ctx, names, digest, img, func(dst name.Repository, from name.Reference) remote.Taggable {
		return r.prepare(img, dst, from)
	})
}

// ExportIndex pushes a multi-platform result: under the first name of
// each repository, every platform manifest by digest (its blobs first,
// skipped or mounted as Export's are), then the attestation manifests
// (pushOrdered), then the index by the name; the other names only get
// the index. A registry thus never holds an index whose manifests are
// missing, nor an attestation before its image.
func (r Registry) ExportIndex(ctx context.Context, idx v1.ImageIndex, names []string) error {
	digest, err := idx.Digest()
	if err != nil {
		return fmt.Errorf("digest image index: %w", err)
	}
	return r.push(ctx, names, digest, idx, func(dst name.Repository, from name.Reference) remote.Taggable {
		return imagesMapped{idx, func(img v1.Image) v1.Image { return r.prepare(img, dst, from) }}
	})
}

// push writes t under every name. prepare gives what the first name of a
// repository gets: t with its layers offered as mountable from from (the
// first repository pushed to on the same registry, or nil) and, for lazy
// layers, from their own repository.
func (r Registry) push(ctx context.Context, names []string, digest v1.Hash, t remote.Taggable, prepare func(dst name.Repository, from name.Reference) remote.Taggable) error {
	if len(names) == 0 {
		return fmt.Errorf("push image: no name given; name the image with -t REGISTRY/REPOSITORY:TAG")
	}
	type target struct {
		name string
		ref  name.Reference
	}
	var repos []string
	byRepo := map[string][]target{}
	for _, n := range names {
		ref, err := r.Options.Parse(n)
		if err != nil {
			return err
		}
		repo := ref.Context().String()
		if byRepo[repo] == nil {
			repos = append(repos, repo)
		}
		byRepo[repo] = append(byRepo[repo], target{n, ref})
	}
	// first remembers, per registry, the first repository pushed to, from
	// which later repositories mount the blobs instead of uploading them.
	first := map[string]name.Reference{}
	for _, repo := range repos {
		for i, tg := range byRepo[repo] {
			var err error
			if i == 0 {
				reg := tg.ref.Context().RegistryStr()
				from, seen := first[reg]
				err = r.write(ctx, tg.name, tg.ref, prepare(tg.ref.Context(), from), digest)
				if err == nil && !seen {
					first[reg] = tg.ref
				}
			} else {
				err = remote.Put(tg.ref, t, r.Options.Remote(ctx)...)
				if err == nil {
					r.event(PushEvent{Name: tg.name, Digest: digest, Status: "tagged"})
				}
			}
			if err != nil {
				if ctx.Err() != nil {
					return context.Cause(ctx)
				}
				return fmt.Errorf("push %s: %w", tg.name, registry.Explain(err, tg.name))
			}
		}
	}
	return nil
}

// prepare offers img's lazy layers as mountable from their repository
// when it is on dst's registry, and its other layers as mountable from
// from when set.
func (r Registry) prepare(img v1.Image, dst name.Repository, from name.Reference) v1.Image {
	src := r.lazy(img, dst)
	if from != nil {
		src = mountable{src, from}
	}
	return src
}

func (r Registry) write(ctx context.Context, n string, ref name.Reference, t remote.Taggable, digest v1.Hash) error {
	if r.Progress == nil {
		return pushOrdered(ctx, ref, t, r.Options.Remote(ctx))
	}
	// remote.Push sends an update per read and usually closes the
	// channel when it returns, but not when its options fail; so once it
	// has returned (and no more sends can come) the reader drains what is
	// buffered and stops either way.
	updates := make(chan v1.Update, 64)
	stop, done := make(chan struct{}), make(chan struct{})
	var last v1.Update
	handle := func(u v1.Update) {
		if u.Error == nil {
			last = u
			r.Progress(PushEvent{Name: n, Digest: digest, Size: u.Total, Done: u.Complete, Status: "pushing"})
		}
	}
	go func() {
		defer close(done)
		for {
			select {
			case u, ok := <-updates:
				if !ok {
					return
				}
				handle(u)
			case <-stop:
				for {
					select {
					case u, ok := <-updates:
						if !ok {
							return
						}
						handle(u)
					default:
						return
					}
				}
			}
		}
	}()
	err := pushOrdered(ctx, ref, t, r.Options.Remote(ctx, remote.WithProgress(updates)))
	close(stop)
	<-done
	if err == nil {
		r.Progress(PushEvent{Name: n, Digest: digest, Size: last.Total, Done: last.Total, Status: "pushed"})
	}
	return err
}

func (r Registry) event(e PushEvent) {
	if r.Progress != nil {
		r.Progress(e)
	}
}

// mountable offers img's layers as mountable from repository from, so that
// remote.Push asks the registry to mount blobs it already holds in from
// rather than upload them again. Layers pulled from a registry are already
// mountable from their origin and are left alone.
type mountable struct {
	v1.Image
	from name.Reference
}

func (m mountable) Layers() ([]v1.Layer, error) {
	ls, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		if _, ok := l.(*remote.MountableLayer); ok {
			out[i] = l
			continue
		}
		out[i] = &remote.MountableLayer{Layer: l, Reference: m.from}
	}
	return out, nil
}

// lazy offers img's lazy layers whose repository is on dst's registry as
// mountable from it. Cross-registry mounts do not exist, so other lazy
// layers are left to be read and uploaded.
func (r Registry) lazy(img v1.Image, dst name.Repository) v1.Image {
	if r.Lazy == nil {
		return img
	}
	reg := dst.RegistryStr()
	return registry.MountFrom(img, func(d v1.Hash) (name.Repository, bool) {
		repo, ok := r.Lazy(d)
		return repo, ok && repo.RegistryStr() == reg
	})
}

// imagesMapped is an index whose images (through nested indexes) are
// passed through wrap: remote.Push reaches a child through Image, so the
// mountable layers prepare adds survive into an index push.
type imagesMapped struct {
	idx  v1.ImageIndex
	wrap func(v1.Image) v1.Image
}

var _ v1.ImageIndex = imagesMapped{}

func (m imagesMapped) MediaType() (types.MediaType, error)       { return m.idx.MediaType() }
func (m imagesMapped) Digest() (v1.Hash, error)                  { return m.idx.Digest() }
func (m imagesMapped) Size() (int64, error)                      { return m.idx.Size() }
func (m imagesMapped) IndexManifest() (*v1.IndexManifest, error) { return m.idx.IndexManifest() }
func (m imagesMapped) RawManifest() ([]byte, error)              { return m.idx.RawManifest() }

func (m imagesMapped) Image(h v1.Hash) (v1.Image, error) {
	img, err := m.idx.Image(h)
	if err != nil {
		return nil, err
	}
	return m.wrap(img), nil
}

func (m imagesMapped) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := m.idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return imagesMapped{idx, m.wrap}, nil
}

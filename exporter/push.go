package exporter

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/registry"
)

// Registry pushes the image under every name. Names in one repository
// share one upload: the first is written with remote.Write (concurrent
// layer uploads, existing blobs skipped, layers pulled from the same
// registry mounted across repositories) and the others only get the
// manifest.
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

// PushEvent reports the progress of pushing the image Digest to Name:
// Done of Size bytes uploaded so far. Status is "pushing", "pushed" or
// "tagged" (manifest only, blobs were already there).
type PushEvent struct {
	Name   string
	Digest v1.Hash
	Size   int64
	Done   int64
	Status string
}

var _ Exporter = Registry{}

func (r Registry) Export(ctx context.Context, img v1.Image, names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("push image: no name given; name the image with -t REGISTRY/REPOSITORY:TAG")
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("digest image: %w", err)
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
		for i, t := range byRepo[repo] {
			if i == 0 {
				src := r.lazy(img, t.ref.Context())
				reg := t.ref.Context().RegistryStr()
				from, seen := first[reg]
				if seen {
					src = mountable{src, from}
				}
				err = r.write(ctx, t.name, t.ref, src, digest)
				if err == nil && !seen {
					first[reg] = t.ref
				}
			} else {
				err = remote.Put(t.ref, img, r.Options.Remote(ctx)...)
				if err == nil {
					r.event(PushEvent{Name: t.name, Digest: digest, Status: "tagged"})
				}
			}
			if err != nil {
				if ctx.Err() != nil {
					return context.Cause(ctx)
				}
				return fmt.Errorf("push %s: %w", t.name, registry.Explain(err, t.name))
			}
		}
	}
	return nil
}

func (r Registry) write(ctx context.Context, n string, ref name.Reference, img v1.Image, digest v1.Hash) error {
	if r.Progress == nil {
		return remote.Write(ref, img, r.Options.Remote(ctx)...)
	}
	// remote.Write sends an update per read and usually closes the
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
	err := remote.Write(ref, img, r.Options.Remote(ctx, remote.WithProgress(updates))...)
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
// remote.Write asks the registry to mount blobs it already holds in from
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

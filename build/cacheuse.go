package build

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/solver"
)

// How one build uses --cache-from and --cache-to: the buildCache notes
// every record it loads or saves (for the export), falls back to the
// imported records on a local miss, and the content store fetches an
// imported blob only when its bytes are needed.

// keyHex is the salted key as records name it remotely.
func keyHex(k solver.Key) string { return hex.EncodeToString(k[:]) }

// note remembers a record this build used, for --cache-to.
func (c *buildCache) note(k solver.Key, s *ops.State) {
	if s == nil || s.Dir != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]*ops.State{}
	}
	c.seen[keyHex(k)] = s
}

// loadRemote looks the salted key up among the imported records.
func (c *buildCache) loadRemote(k solver.Key) (*ops.State, bool) {
	if c.remote == nil {
		return nil, false
	}
	return c.remote.load(keyHex(k))
}

// importRemote reads every --cache-from (manifests and configs only) and
// lets root's content store fetch their blobs on demand. Call the returned
// function when the build ends.
func (c *buildCache) importRemote(ctx context.Context, o Options) func() {
	if len(o.CacheFrom) == 0 || o.NoCache {
		return func() {} // --no-cache loads no record, local or remote
	}
	c.remote = importCaches(ctx, o.CacheFrom, o.Registry, o.Progress.Warnf)
	o.Progress.Logf("imported %d cache records from %d --cache-from", len(c.remote.records), len(o.CacheFrom))
	store := c.root.Content
	meter := newFetchMeter(o.Progress)
	store.SetFetcher(func(fctx context.Context, d v1.Hash) (io.ReadCloser, int64, error) {
		if fctx.Done() == nil {
			fctx = ctx // Open has no context of its own: use the build's
		}
		rc, size, err := c.remote.fetch(fctx, d)
		if err != nil {
			return nil, 0, err
		}
		return meter.reader(rc, d, size), size, nil
	})
	return func() { store.SetFetcher(nil) }
}

// retry reports whether err came from an imported blob that could not be
// fetched intact; the records naming it are then dropped, a warning is
// printed, and the build should solve again (what already ran is in the
// local cache, so only the steps that trusted the blob run).
func (c *buildCache) retry(err error, warn func(string, ...any)) bool {
	var fe *content.FetchError
	if err == nil || c.remote == nil || !errors.As(err, &fe) || !c.remote.markBad(fe.Digest) {
		return false
	}
	warn("cache blob %s is unusable (%v); rebuilding the steps that needed it", fe.Digest, fe.Err)
	return true
}

// withCacheExtras adds inline records (--cache-to type=inline) to the
// image config, and offers the final image's imported layers as mountable
// from their cache repository, so a push to the same registry mounts them.
func (c *buildCache) withCacheExtras(img v1.Image, final *ops.State, to []CacheSpec) (v1.Image, error) {
	for _, s := range to {
		if s.Type != "inline" {
			continue
		}
		var err error
		if img, err = withInlineCache(img, c.records(final, "min")); err != nil {
			return nil, fmt.Errorf("--cache-to type=inline: %w", err)
		}
		break
	}
	if c.remote == nil {
		return img, nil
	}
	return mountableImage{Image: img, rc: c.remote}, nil
}

// withInlineCache returns img with recs in its config under
// inlineCacheField. The field is appended to the config JSON as is, so
// nothing else in the config changes.
func withInlineCache(img v1.Image, recs map[string]*ops.State) (v1.Image, error) {
	cfg, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	field, err := json.Marshal(cacheConfig{Version: cacheVersion, Records: recs})
	if err != nil {
		return nil, fmt.Errorf("encode inline cache: %w", err)
	}
	cfg = bytes.TrimRight(cfg, " \n")
	if len(cfg) < 2 || cfg[len(cfg)-1] != '}' {
		return nil, fmt.Errorf("image config is not a JSON object")
	}
	name, _ := json.Marshal(inlineCacheField)
	out := append(append([]byte{}, cfg[:len(cfg)-1]...), ',')
	out = append(append(append(append(out, name...), ':'), field...), '}')
	b := &builtImage{config: out, mediaType: mt, layers: map[v1.Hash]v1.Layer{}}
	m = m.DeepCopy()
	m.Config.Size = int64(len(out))
	if m.Config.Digest, _, err = v1.SHA256(bytes.NewReader(out)); err != nil {
		return nil, err
	}
	for _, d := range m.Layers {
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return nil, err
		}
		b.layers[d.Digest] = l
	}
	if b.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(b)
}

// mountableImage marks layers that came from a registry cache as
// mountable from it (remote.Write mounts them when pushing to the same
// registry instead of uploading).
type mountableImage struct {
	v1.Image
	rc *remoteCache
}

func (m mountableImage) Layers() ([]v1.Layer, error) {
	ls, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = l
		d, err := l.Digest()
		if err != nil {
			continue
		}
		if src, ok := m.rc.blobs[d]; ok && src.dir == "" {
			out[i] = &remote.MountableLayer{Layer: l, Reference: src.repo.Digest(d.String())}
		}
	}
	return out, nil
}

// recordLazy records every layer of the image that is not local but comes
// from a --cache-from registry as a lazy blob of image (content.AddRemote),
// so that storing the image does not download it; whatever reads it later
// fetches it then. Layers from a local-layout cache are copied instead
// (cheap), and so are blobs that proved corrupt in this build.
func (m mountableImage) recordLazy(c *content.Store, image string) error {
	man, err := m.Image.Manifest()
	if err != nil {
		return err
	}
	for _, l := range man.Layers {
		src, ok := m.rc.blobs[l.Digest]
		if !ok || src.dir != "" || c.Has(l.Digest) || m.rc.isBad(l.Digest) {
			continue
		}
		err := c.AddRemote(l.Digest, content.RemoteSource{
			Ref: src.repo.String(), Size: l.Size, MediaType: l.MediaType,
			Insecure: src.repo.Scheme() == "http", Image: image,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *remoteCache) isBad(d v1.Hash) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad[d]
}

// setKeys keeps the key of every step of the build (solver.Options.Keys).
func (c *buildCache) setKeys(keys []solver.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = keys
}

// noteBelowHits notes the local record of every step the solve did not
// reach: a cache hit resolves nothing below it, yet mode=max exports
// every step, so that a later build that changes something high up still
// finds the steps below cached.
func (c *buildCache) noteBelowHits(ctx context.Context) {
	c.mu.Lock()
	keys := c.keys
	c.mu.Unlock()
	for _, k := range keys {
		sk := c.key(k)
		c.mu.Lock()
		_, seen := c.seen[keyHex(sk)]
		c.mu.Unlock()
		if seen {
			continue
		}
		if s, ok, err := c.root.Cache.Load(ctx, sk); err == nil && ok {
			c.note(sk, s)
		} else if s, ok := c.loadRemote(sk); ok {
			c.note(sk, s)
		}
	}
}

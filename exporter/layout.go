package exporter

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations containerd and BuildKit put on an OCI index entry: the full
// normalized name, and the tag alone as the OCI spec defines ref.name.
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// sink receives the files of an image layout, in order.
type sink interface {
	file(name string, size int64, r io.Reader) error
}

// tarSink writes layout files as entries of one tar stream, each parent
// directory once before its first file.
type tarSink struct {
	tw   *tar.Writer
	dirs map[string]bool
}

func newTarSink(w io.Writer) *tarSink {
	return &tarSink{tw: tar.NewWriter(w), dirs: map[string]bool{}}
}

func (s *tarSink) file(name string, size int64, r io.Reader) error {
	var missing []string
	for d := path.Dir(name); d != "." && !s.dirs[d]; d = path.Dir(d) {
		missing = append([]string{d}, missing...)
	}
	for _, d := range missing {
		s.dirs[d] = true
		if err := s.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return fmt.Errorf("write tar header %s: %w", d, err)
		}
	}
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: time.Unix(0, 0)}
	if err := s.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write tar header %s: %w", name, err)
	}
	if _, err := io.Copy(s.tw, r); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// dirSink writes layout files below a directory.
type dirSink struct{ root *os.Root }

func (s dirSink) file(name string, size int64, r io.Reader) (err error) {
	if err := s.root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", path.Dir(name), err)
	}
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", name, cerr)
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// layoutWriter writes one image as an OCI image layout; docker adds the
// manifest.json and repositories files `docker load` reads, as `docker
// save` itself does since Docker 25.
type layoutWriter struct {
	s      sink
	docker bool
	seen   map[v1.Hash]bool
}

func newLayoutWriter(s sink, docker bool) *layoutWriter {
	return &layoutWriter{s: s, docker: docker, seen: map[v1.Hash]bool{}}
}

func writeLayout(ctx context.Context, s sink, img v1.Image, names []string, docker bool) error {
	refs, err := parseNames(names)
	if err != nil {
		return err
	}
	w := newLayoutWriter(s, docker)
	desc, m, err := w.image(ctx, img)
	if err != nil {
		return err
	}
	if err := w.finish(desc, refs); err != nil {
		return err
	}
	if !docker {
		return nil
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("digest image config: %w", err)
	}
	tags, repos, err := dockerTags(refs, cfgName)
	if err != nil {
		return err
	}
	m.RepoTags = tags
	if err := w.json("manifest.json", []dockerManifest{m}); err != nil {
		return err
	}
	return w.json("repositories", repos)
}

// writeIndexLayout writes a multi-platform result as BuildKit's oci
// exporter does: index.json names the image index, whose blob lists the
// platform manifests; every manifest, config and layer is a blob, once.
func writeIndexLayout(ctx context.Context, s sink, idx v1.ImageIndex, names []string) error {
	refs, err := parseNames(names)
	if err != nil {
		return err
	}
	w := newLayoutWriter(s, false)
	desc, err := w.imageIndex(ctx, idx)
	if err != nil {
		return err
	}
	return w.finish(desc, refs)
}

// image writes img's layers, config and manifest, and returns the
// manifest's descriptor and its entry of a docker manifest.json (without
// tags).
func (w *layoutWriter) image(ctx context.Context, img v1.Image) (v1.Descriptor, dockerManifest, error) {
	var m dockerManifest
	layers, err := img.Layers()
	if err != nil {
		return v1.Descriptor{}, m, fmt.Errorf("list layers: %w", err)
	}
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return v1.Descriptor{}, m, fmt.Errorf("digest layer %d: %w", i, err)
		}
		size, err := l.Size()
		if err != nil {
			return v1.Descriptor{}, m, fmt.Errorf("size layer %s: %w", d, err)
		}
		if err := w.blob(ctx, d, size, func() (io.ReadCloser, error) { return l.Compressed() }); err != nil {
			return v1.Descriptor{}, m, err
		}
		m.Layers = append(m.Layers, blobPath(d))
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return v1.Descriptor{}, m, fmt.Errorf("read image config: %w", err)
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return v1.Descriptor{}, m, fmt.Errorf("digest image config: %w", err)
	}
	if err := w.bytes(ctx, cfgName, cfg); err != nil {
		return v1.Descriptor{}, m, err
	}
	m.Config = blobPath(cfgName)
	manifest, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, m, fmt.Errorf("read image manifest: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, m, fmt.Errorf("digest image manifest: %w", err)
	}
	if err := w.bytes(ctx, digest, manifest); err != nil {
		return v1.Descriptor{}, m, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, m, fmt.Errorf("read image media type: %w", err)
	}
	return v1.Descriptor{MediaType: mt, Digest: digest, Size: int64(len(manifest))}, m, nil
}

// imageIndex writes every manifest idx lists (images, and nested indexes
// in turn) and then idx itself, and returns idx's descriptor.
func (w *layoutWriter) imageIndex(ctx context.Context, idx v1.ImageIndex) (v1.Descriptor, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("read image index: %w", err)
	}
	for _, d := range im.Manifests {
		var got v1.Descriptor
		switch {
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return v1.Descriptor{}, fmt.Errorf("read image %s: %w", d.Digest, err)
			}
			if got, _, err = w.image(ctx, img); err != nil {
				return v1.Descriptor{}, err
			}
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return v1.Descriptor{}, fmt.Errorf("read image index %s: %w", d.Digest, err)
			}
			if got, err = w.imageIndex(ctx, child); err != nil {
				return v1.Descriptor{}, err
			}
		default:
			return v1.Descriptor{}, fmt.Errorf("index entry %s has media type %q, neither an image nor an index", d.Digest, d.MediaType)
		}
		if got.Digest != d.Digest {
			return v1.Descriptor{}, fmt.Errorf("index entry %s: its manifest has digest %s", d.Digest, got.Digest)
		}
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("read image index: %w", err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("digest image index: %w", err)
	}
	if err := w.bytes(ctx, digest, raw); err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := idx.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("read image index media type: %w", err)
	}
	return v1.Descriptor{MediaType: mt, Digest: digest, Size: int64(len(raw))}, nil
}

// finish writes oci-layout and index.json, which names desc under every
// name.
func (w *layoutWriter) finish(desc v1.Descriptor, refs []name.Reference) error {
	if err := w.json("oci-layout", map[string]string{"imageLayoutVersion": "1.0.0"}); err != nil {
		return err
	}
	return w.json("index.json", index(desc, refs))
}

// blob copies one blob into the layout once, checking its size and digest
// so that a corrupt layer never reaches the output.
func (w *layoutWriter) blob(ctx context.Context, d v1.Hash, size int64, open func() (io.ReadCloser, error)) error {
	if w.seen[d] {
		return nil
	}
	w.seen[d] = true
	if d.Algorithm != "sha256" {
		return fmt.Errorf("write blob %s: only sha256 digests are supported", d)
	}
	rc, err := open()
	if err != nil {
		return fmt.Errorf("open blob %s: %w", d, err)
	}
	defer rc.Close()
	h := sha256.New()
	r := io.TeeReader(io.LimitReader(ctxReader{ctx, rc}, size), h)
	if err := w.s.file(blobPath(d), size, r); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Hex {
		return fmt.Errorf("write blob %s: content has digest sha256:%s (short or corrupt blob)", d, got)
	}
	return nil
}

func (w *layoutWriter) bytes(ctx context.Context, d v1.Hash, b []byte) error {
	return w.blob(ctx, d, int64(len(b)), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

func (w *layoutWriter) json(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return w.s.file(name, int64(len(b)), bytes.NewReader(b))
}

func blobPath(d v1.Hash) string { return path.Join("blobs", d.Algorithm, d.Hex) }

// index builds index.json: one entry per name, as containerd's exporter
// writes it, or a single unnamed entry.
func index(desc v1.Descriptor, refs []name.Reference) v1.IndexManifest {
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	if len(refs) == 0 {
		im.Manifests = []v1.Descriptor{desc}
		return im
	}
	for _, r := range refs {
		d := desc
		d.Annotations = map[string]string{annotationImageName: fullName(r)}
		if t, ok := r.(name.Tag); ok {
			d.Annotations[annotationRefName] = t.TagStr()
		}
		im.Manifests = append(im.Manifests, d)
	}
	return im
}

type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// dockerTags returns RepoTags and the legacy repositories map in Docker's
// familiar spelling ("app:latest", "ghcr.io/o/app:v1").
func dockerTags(refs []name.Reference, id v1.Hash) ([]string, map[string]map[string]string, error) {
	tags := []string{}
	repos := map[string]map[string]string{}
	for _, r := range refs {
		t, ok := r.(name.Tag)
		if !ok {
			return nil, nil, fmt.Errorf("name %s has no tag: a docker tarball names images by tag; use NAME:TAG", r)
		}
		repo := familiar(t.Context())
		tags = append(tags, repo+":"+t.TagStr())
		if repos[repo] == nil {
			repos[repo] = map[string]string{}
		}
		repos[repo][t.TagStr()] = id.Hex
	}
	return tags, repos, nil
}

// parseNames parses image names with Docker's defaults (docker.io,
// library/, :latest).
func parseNames(names []string) ([]name.Reference, error) {
	var refs []name.Reference
	for _, n := range names {
		r, err := name.ParseReference(n)
		if err != nil {
			return nil, fmt.Errorf("invalid image name %q: %w", n, err)
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// fullName spells r as Docker's normalized name: docker.io/library/app:latest.
func fullName(r name.Reference) string {
	reg := r.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	s := reg + "/" + r.Context().RepositoryStr()
	switch r := r.(type) {
	case name.Tag:
		return s + ":" + r.TagStr()
	case name.Digest:
		return s + "@" + r.DigestStr()
	}
	return s
}

// familiar spells a repository as `docker images` shows it.
func familiar(repo name.Repository) string {
	if repo.RegistryStr() != name.DefaultRegistry {
		return repo.RegistryStr() + "/" + repo.RepositoryStr()
	}
	if p, ok := strings.CutPrefix(repo.RepositoryStr(), "library/"); ok {
		return p
	}
	return repo.RepositoryStr()
}

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
	"path/filepath"
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

func writeLayout(ctx context.Context, s sink, img v1.Image, names []string, docker bool) error {
	refs, err := parseNames(names)
	if err != nil {
		return err
	}
	w := &layoutWriter{s: s, docker: docker, seen: map[v1.Hash]bool{}}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("list layers: %w", err)
	}
	var layerFiles []string
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return fmt.Errorf("digest layer %d: %w", i, err)
		}
		size, err := l.Size()
		if err != nil {
			return fmt.Errorf("size layer %s: %w", d, err)
		}
		if err := w.blob(ctx, d, size, func() (io.ReadCloser, error) { return l.Compressed() }); err != nil {
			return err
		}
		layerFiles = append(layerFiles, blobPath(d))
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("read image config: %w", err)
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("digest image config: %w", err)
	}
	if err := w.bytes(ctx, cfgName, cfg); err != nil {
		return err
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("read image manifest: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("digest image manifest: %w", err)
	}
	if err := w.bytes(ctx, digest, manifest); err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return fmt.Errorf("read image media type: %w", err)
	}
	desc := v1.Descriptor{MediaType: mt, Digest: digest, Size: int64(len(manifest))}
	if err := w.json("oci-layout", map[string]string{"imageLayoutVersion": "1.0.0"}); err != nil {
		return err
	}
	if err := w.json("index.json", index(desc, refs)); err != nil {
		return err
	}
	if !docker {
		return nil
	}
	tags, repos, err := dockerTags(refs, cfgName)
	if err != nil {
		return err
	}
	m := []dockerManifest{{Config: blobPath(cfgName), RepoTags: tags, Layers: layerFiles}}
	if err := w.json("manifest.json", m); err != nil {
		return err
	}
	return w.json("repositories", repos)
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

// OCI exports an OCI image layout: a tar file by default, a directory when
// Tar is false. Names become index entries annotated with the full name
// (io.containerd.image.name) and the tag (org.opencontainers.image.ref.name),
// as BuildKit writes them.
type OCI struct {
	Dest string
	Tar  bool
	// Out receives the tar when Dest is "-"; os.Stdout when nil.
	Out io.Writer
}

var _ Exporter = OCI{}

func (o OCI) Export(ctx context.Context, img v1.Image, names []string) error {
	if o.Tar {
		return writeTarLayout(ctx, o.Dest, o.Out, img, names, false)
	}
	if o.Dest == Stdout || o.Dest == "" {
		return fmt.Errorf("oci directory output needs a dest directory; use tar=true to write to stdout")
	}
	return writeDir(ctx, o.Dest, func(dir string) error {
		root, err := os.OpenRoot(dir)
		if err != nil {
			return fmt.Errorf("open %s: %w", dir, err)
		}
		defer root.Close()
		if err := writeLayout(ctx, dirSink{root}, img, names, false); err != nil {
			return fmt.Errorf("write OCI layout %s: %w", o.Dest, err)
		}
		return nil
	})
}

// Docker exports a tarball `docker load` accepts: an OCI layout plus
// manifest.json and repositories, as `docker save` writes since Docker 25.
// Every name must carry a tag (a missing one means :latest).
type Docker struct {
	Dest string
	// Out receives the tar when Dest is "-"; os.Stdout when nil.
	Out io.Writer
}

var _ Exporter = Docker{}

func (d Docker) Export(ctx context.Context, img v1.Image, names []string) error {
	return writeTarLayout(ctx, d.Dest, d.Out, img, names, true)
}

func writeTarLayout(ctx context.Context, dest string, out io.Writer, img v1.Image, names []string, docker bool) error {
	if dest == "" {
		return fmt.Errorf("tar output needs a dest file, or \"-\" for stdout")
	}
	return writeFile(ctx, dest, out, func(w io.Writer) error {
		ts := newTarSink(w)
		if err := writeLayout(ctx, ts, img, names, docker); err != nil {
			return fmt.Errorf("write %s: %w", displayDest(dest), err)
		}
		if err := ts.tw.Close(); err != nil {
			return fmt.Errorf("write %s: %w", displayDest(dest), err)
		}
		return nil
	})
}

func displayDest(dest string) string {
	if dest == Stdout {
		return "stdout"
	}
	return filepath.Clean(dest)
}

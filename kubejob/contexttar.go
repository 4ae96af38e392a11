package kubejob

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/copier"
)

// bakeDir is the directory the context tar adds for the Dockerfile the
// Job builds with, and for the .dockerignore patterns that apply to it
// (gorae reads NAME.dockerignore beside the Dockerfile first), which
// hide the directory itself from COPY.
const bakeDir = ".gorae-bake"

// contextBlob is a gzip tar of a build context, spooled to a file.
type contextBlob struct {
	path   string
	digest string // sha256:…
	size   int64
}

// mainContext writes the tar of the target's context directory: the
// files .dockerignore (or DOCKERFILE.dockerignore) keeps, plus
// .gorae-bake/Dockerfile (the target's Dockerfile or dockerfile-inline)
// and .gorae-bake/Dockerfile.dockerignore (the same patterns, plus
// .gorae-bake), so the Job's build sees exactly the files a local build
// would, whichever Dockerfile it names. Equal trees give equal bytes:
// entries are sorted, owners are 0:0, times are whole seconds.
func mainContext(dir, dockerfile, inline, tmp string) (*contextBlob, error) {
	df := []byte(inline)
	var candidates []string
	if inline == "" {
		if dockerfile == "" {
			dockerfile = "Dockerfile"
		}
		if !filepath.IsAbs(dockerfile) {
			dockerfile = filepath.Join(dir, dockerfile)
		}
		b, err := os.ReadFile(dockerfile)
		if err != nil {
			return nil, fmt.Errorf("read the Dockerfile: %w", err)
		}
		df = b
		candidates = append(candidates, dockerfile+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(dir, ".dockerignore"))
	excludes, _, err := copier.ReadIgnoreFile(candidates...)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(filepath.Join(dir, bakeDir)); err == nil {
		return nil, fmt.Errorf("context %s has a %s entry, the name gorae bake --kubernetes gives the Dockerfile in the context it uploads: rename it", dir, bakeDir)
	}
	ignore := strings.Join(append(append([]string(nil), excludes...), bakeDir), "\n") + "\n"
	extra := []extraFile{
		{name: bakeDir + "/Dockerfile", data: df},
		{name: bakeDir + "/Dockerfile.dockerignore", data: []byte(ignore)},
	}
	return writeContext(dir, excludes, extra, tmp)
}

// namedContext writes the tar of a --build-context directory, without
// what its .dockerignore excludes.
func namedContext(dir, tmp string) (*contextBlob, error) {
	excludes, _, err := copier.ReadIgnoreFile(filepath.Join(dir, ".dockerignore"))
	if err != nil {
		return nil, err
	}
	return writeContext(dir, excludes, nil, tmp)
}

type extraFile struct {
	name string
	data []byte
}

func writeContext(dir string, excludes []string, extra []extraFile, tmp string) (_ *contextBlob, err error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("build context %s is not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	defer root.Close()
	fsys, err := copier.ContextFS(archive.RootFS{Root: root}, excludes)
	if err != nil {
		return nil, fmt.Errorf("%s/.dockerignore: %w", dir, err)
	}
	f, err := os.CreateTemp(tmp, "gorae-bake-context-*.tar.gz")
	if err != nil {
		return nil, err
	}
	defer func() {
		f.Close()
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	// No name or time in the gzip header: equal tars, equal blobs.
	zw := gzip.NewWriter(cw)
	tw := archive.NewWriter(zw, archive.WriterOptions{})
	if err := walkContext(fsys, ".", tw); err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	if len(extra) > 0 {
		epoch := time.Unix(0, 0)
		if err := tw.WriteHeader(&tar.Header{Name: bakeDir + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
			return nil, err
		}
		for _, e := range extra {
			if err := tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.data)), ModTime: epoch}); err != nil {
				return nil, err
			}
			if _, err := tw.Write(e.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &contextBlob{path: f.Name(), digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), size: cw.n}, nil
}

// walkContext writes the entries below name, sorted by name, directories
// before their contents (tw normalizes names and times). Sockets are
// left out (they cannot be archived); hard links become separate files.
func walkContext(fsys archive.FS, name string, tw *archive.Writer) error {
	infos, err := archive.ReadDirInfo(fsys, name)
	if err != nil {
		return err
	}
	for _, fi := range infos {
		p := fi.Name()
		if name != "." {
			p = name + "/" + p
		}
		if fi.Mode()&fs.ModeSocket != 0 {
			continue
		}
		var link string
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = fsys.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		hdr.Name = p
		// COPY gives files root's ownership unless --chown says otherwise,
		// so the checkout's owners only made the blob differ per machine.
		hdr.Uid, hdr.Gid = 0, 0
		if err := tw.WriteHeader(hdr); err != nil {
			return err // names the entry
		}
		switch {
		case fi.Mode().IsRegular():
			if err := copyFile(fsys, p, tw); err != nil {
				return err
			}
		case fi.IsDir():
			if err := walkContext(fsys, p, tw); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(fsys archive.FS, name string, w io.Writer) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

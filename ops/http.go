package ops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/solver"
)

// httpOp downloads one file for ADD URL. The download happens while
// computing the key (its content is the key), into the content store, so
// Exec only exposes it.
type httpOp struct {
	env  *Env
	op   graph.HTTP
	node *graph.Node

	digest v1.Hash
	mtime  time.Time
}

func (o *httpOp) CacheKey(ctx context.Context) (solver.Key, error) {
	d, mtime, err := o.fetch(ctx)
	if err != nil {
		return solver.Key{}, fmt.Errorf("%s:%d: ADD %s: %w", o.node.Pos.File, o.node.Pos.Line, o.op.URL, err)
	}
	o.digest, o.mtime = d, mtime
	o.env.pin(o.node.Digest(), d.String())
	return opKey(o.op, d.String()), nil
}

func (o *httpOp) fetch(ctx context.Context) (v1.Hash, time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.op.URL, nil)
	if err != nil {
		return v1.Hash{}, time.Time{}, err
	}
	client := o.env.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return v1.Hash{}, time.Time{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v1.Hash{}, time.Time{}, fmt.Errorf("download: server answered %s", resp.Status)
	}
	w, err := o.env.Content.NewWriter()
	if err != nil {
		return v1.Hash{}, time.Time{}, err
	}
	defer w.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), resp.Body); err != nil {
		return v1.Hash{}, time.Time{}, fmt.Errorf("download: %w", err)
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if o.op.Checksum != "" && o.op.Checksum != got {
		return v1.Hash{}, time.Time{}, fmt.Errorf("checksum mismatch: --checksum=%s but the file is %s", o.op.Checksum, got)
	}
	d, _, err := w.Commit(v1.Hash{})
	if err != nil {
		return v1.Hash{}, time.Time{}, err
	}
	mtime, _ := http.ParseTime(resp.Header.Get("Last-Modified"))
	return d, mtime, nil
}

func (o *httpOp) Exec(ctx context.Context, _ []*State) (*State, error) {
	if o.digest.Hex == "" {
		if _, err := o.CacheKey(ctx); err != nil {
			return nil, err
		}
	}
	return &State{HTTP: true, Dir: &blobFS{path: o.env.Content.Path(o.digest), name: filepath.Base(o.op.Filename), mtime: o.mtime}}, nil
}

// blobFS is an archive.FS holding one downloaded file at its root, mode
// 0600 as Docker gives ADD downloads.
type blobFS struct {
	path  string
	name  string
	mtime time.Time
}

var _ archive.FS = (*blobFS)(nil)

func (b *blobFS) Lstat(name string) (os.FileInfo, error) {
	switch name {
	case ".":
		return dirInfo{mtime: b.mtime}, nil
	case b.name:
		fi, err := os.Stat(b.path)
		if err != nil {
			return nil, err
		}
		return fileInfo{name: b.name, size: fi.Size(), mtime: b.mtime}, nil
	}
	return nil, &os.PathError{Op: "lstat", Path: name, Err: os.ErrNotExist}
}

func (b *blobFS) ReadDir(name string) ([]os.DirEntry, error) {
	if name != "." {
		return nil, &os.PathError{Op: "readdir", Path: name, Err: os.ErrNotExist}
	}
	fi, err := b.Lstat(b.name)
	if err != nil {
		return nil, err
	}
	return []os.DirEntry{fsDirEntry{fi}}, nil
}

func (b *blobFS) Readlink(name string) (string, error) {
	return "", &os.PathError{Op: "readlink", Path: name, Err: os.ErrInvalid}
}

func (b *blobFS) Open(name string) (fs.File, error) {
	if name != b.name {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return os.Open(b.path)
}

package copier

import (
	"io/fs"
	"strings"
	"time"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/graph"
)

// inlineSource is the filesystem BuildKit makes for one heredoc of a
// COPY or ADD: a scratch filesystem holding a single regular file named
// after the delimiter, mode 0644, owned by root, written when the copy
// runs (its mtime is the copy's time: SOURCE_DATE_EPOCH when set).
func inlineSource(s graph.Source, now time.Time) Source {
	return Source{FS: inlineFS{name: s.Path, data: s.Data, mtime: now}, Context: true, inline: true}
}

// inlineFS is a read-only filesystem with one file at its root.
type inlineFS struct {
	name, data string
	mtime      time.Time
}

func (f inlineFS) Lstat(name string) (fs.FileInfo, error) {
	switch clean(name) {
	case "":
		return rootInfo{}, nil
	case f.name:
		return inlineInfo(f), nil
	}
	return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
}

func (f inlineFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if clean(name) == "" {
		return []fs.DirEntry{fs.FileInfoToDirEntry(inlineInfo(f))}, nil
	}
	return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
}

func (f inlineFS) Readlink(name string) (string, error) {
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
}

func (f inlineFS) Open(name string) (fs.File, error) {
	if clean(name) != f.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &inlineFile{Reader: strings.NewReader(f.data), info: inlineInfo(f)}, nil
}

type inlineFile struct {
	*strings.Reader
	info fs.FileInfo
}

func (f *inlineFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *inlineFile) Close() error               { return nil }

var (
	_ archive.FS = inlineFS{}
	_ fs.File    = (*inlineFile)(nil)
)

type inlineInfo inlineFS

func (i inlineInfo) Name() string       { return i.name }
func (i inlineInfo) Size() int64        { return int64(len(i.data)) }
func (i inlineInfo) Mode() fs.FileMode  { return 0o644 }
func (i inlineInfo) ModTime() time.Time { return i.mtime }
func (i inlineInfo) IsDir() bool        { return false }
func (i inlineInfo) Sys() any           { return nil }

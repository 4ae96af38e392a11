package ops

import (
	"io/fs"
	"time"
)

// fileInfo and dirInfo describe synthetic entries (downloads) owned by
// root.
type fileInfo struct {
	name  string
	size  int64
	mtime time.Time
}

func (f fileInfo) Name() string       { return f.name }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return 0o600 }
func (f fileInfo) ModTime() time.Time { return f.mtime }
func (f fileInfo) IsDir() bool        { return false }
func (f fileInfo) Sys() any           { return nil }

type dirInfo struct{ mtime time.Time }

func (d dirInfo) Name() string       { return "." }
func (d dirInfo) Size() int64        { return 0 }
func (d dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (d dirInfo) ModTime() time.Time { return d.mtime }
func (d dirInfo) IsDir() bool        { return true }
func (d dirInfo) Sys() any           { return nil }

type fsDirEntry struct{ fi fs.FileInfo }

func (d fsDirEntry) Name() string               { return d.fi.Name() }
func (d fsDirEntry) IsDir() bool                { return d.fi.IsDir() }
func (d fsDirEntry) Type() fs.FileMode          { return d.fi.Mode().Type() }
func (d fsDirEntry) Info() (fs.FileInfo, error) { return d.fi, nil }

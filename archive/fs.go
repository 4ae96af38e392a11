package archive

import (
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// FS is a read-only file tree whose entries carry full metadata: mode,
// owner (FileInfo.Sys() is a *syscall.Stat_t where the tree has owners),
// link targets. Names are slash-separated, relative, fs.ValidPath-clean
// ("." is the root). Symlinks are never followed by Lstat, ReadDir or
// Readlink; Open follows them only within the tree.
type FS interface {
	Lstat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error) // sorted by name
	Readlink(name string) (string, error)
	Open(name string) (fs.File, error)
}

// Owner returns the uid and gid recorded in fi, or 0, 0 when it has none.
func Owner(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}

// RootFS is an FS over a directory opened with os.OpenRoot: nothing it
// returns can lie outside the directory, whatever symlinks it holds.
// Dirs, if set, keeps the directories of opened files open (see Dirs).
type RootFS struct {
	Root *os.Root
	Dirs *Dirs
}

var _ FS = RootFS{}

func (r RootFS) Lstat(name string) (fs.FileInfo, error) { return r.Root.Lstat(name) }

func (r RootFS) Readlink(name string) (string, error) { return r.Root.Readlink(name) }

func (r RootFS) Open(name string) (fs.File, error) {
	if r.Dirs != nil && strings.Contains(name, "/") {
		if f, err := r.Dirs.openFile(r.Root, name); err == nil {
			return f, nil
		}
	}
	return r.Root.Open(name)
}

func (r RootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	return fs.ReadDir(r.Root.FS(), name)
}

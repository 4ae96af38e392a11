package archive

import (
	"os"
	"path"
	"sync"
	"time"
)

// Dirs keeps directories of a RootFS open, so that opening a file costs
// one openat relative to its directory: os.Root opens and closes every
// directory on the way for every call, and the context hash and a COPY
// open every file of a context, directory by directory. Each directory is
// itself an os.Root, opened inside the RootFS's root, so a name still
// cannot leave it. A directory handle follows its directory if it is
// renamed, so it is used for dirsTTL at most: a directory renamed while
// a walk reads it may be read at its old place for that long, as a walk
// may list a directory just before it changes. Dirs is safe for
// concurrent use; Close releases it.
type Dirs struct {
	mu   sync.Mutex
	open map[string]openDir
}

type openDir struct {
	root *os.Root
	at   time.Time
}

// maxDirs bounds the directories kept open: a walk reads a directory's
// files together, so a few suffice, and descriptors stay few.
const maxDirs = 64

// dirsTTL is how long a directory handle is used (see Dirs).
const dirsTTL = time.Second

// dirsNow is time.Now, a variable for tests.
var dirsNow = time.Now

// NewDirs returns an empty Dirs for RootFS.Dirs.
func NewDirs() *Dirs { return &Dirs{open: map[string]openDir{}} }

// openFile opens name, which has a directory part, relative to that
// directory's root, opened inside root and kept. Any error sends the
// caller to root itself, which gives the answer and the error of record
// (a symlink may lead out of the directory and still stay in root).
func (d *Dirs) openFile(root *os.Root, name string) (*os.File, error) {
	dir, base := path.Split(name)
	sub, err := d.dir(root, dir[:len(dir)-1])
	if err != nil {
		return nil, err
	}
	// The file's Name is the same either way: the sub-root's name is
	// root's joined with dir.
	return sub.Open(base)
}

func (d *Dirs) dir(root *os.Root, dir string) (*os.Root, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open == nil {
		return nil, os.ErrClosed
	}
	now := dirsNow()
	if o, ok := d.open[dir]; ok {
		if now.Sub(o.at) < dirsTTL {
			return o.root, nil
		}
		o.root.Close()
		delete(d.open, dir)
	}
	if len(d.open) >= maxDirs {
		// Any one: a Close while another goroutine opens in it only
		// fails that open, which then goes through root.
		for k, o := range d.open {
			o.root.Close()
			delete(d.open, k)
			break
		}
	}
	sub, err := root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	d.open[dir] = openDir{sub, now}
	return sub, nil
}

// Close closes the directories kept open; later opens go through the
// root.
func (d *Dirs) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, o := range d.open {
		o.root.Close()
	}
	d.open = nil
	return nil
}

package archive

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// maxCachedDirs bounds the directory descriptors one Apply keeps open.
// Layer tars list a directory's entries together, so a few dozen cover
// the directories in use; the bound only keeps a layer of many
// directories (and several layers unpacked at once) far from the
// descriptor limit.
const maxCachedDirs = 128

// dirCache holds descriptors of the real directories of a layer being
// applied, by clean relative path, so that an entry costs one system
// call on its final component instead of a walk from the root. Each
// directory is opened relative to its parent's descriptor with
// O_NOFOLLOW|O_DIRECTORY: a cached descriptor is a directory reached
// from the root through directories only, never through a symlink, and
// it stays valid because Apply alone changes the tree and calls
// invalidate for whatever it removes.
type dirCache struct {
	root int
	fds  map[string]int
}

func newDirCache(root int) *dirCache {
	return &dirCache{root: root, fds: make(map[string]int)}
}

// open returns the descriptor of directory dir ("." is the root),
// opening missing cache entries from the nearest cached ancestor down.
// With create, missing components are made root-owned 0755, as Docker
// does for implied parents; symlinks and other non-directories on the
// way are refused. The descriptor belongs to the cache: it is valid
// until the next trim or invalidate.
func (c *dirCache) open(dir string, create bool) (int, error) {
	if dir == "." {
		return c.root, nil
	}
	if fd, ok := c.fds[dir]; ok {
		return fd, nil
	}
	// The nearest cached ancestor: usually the parent, as entries come
	// grouped by directory.
	known, fd := dir, c.root
	for {
		i := strings.LastIndexByte(known, '/')
		if i < 0 {
			known = "."
			break
		}
		known = known[:i]
		if f, ok := c.fds[known]; ok {
			fd = f
			break
		}
	}
	rest := dir
	if known != "." {
		rest = dir[len(known)+1:]
	}
	p := known
	for comp := range strings.SplitSeq(rest, "/") {
		p = path.Join(p, comp)
		child, err := c.openChild(fd, p, comp)
		if errors.Is(err, unix.ENOENT) && create {
			if err := unix.Mkdirat(fd, comp, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				return -1, fmt.Errorf("create parent directory %q: %w", p, err)
			}
			child, err = c.openChild(fd, p, comp)
		}
		if err != nil {
			return -1, notDirError(fd, p, comp, err)
		}
		fd = child
	}
	return fd, nil
}

// openChild opens directory base in the directory parentFd without
// following a symlink, and caches it as name. O_DIRECTORY also keeps a
// fifo in its place from blocking the open.
func (c *dirCache) openChild(parentFd int, name, base string) (int, error) {
	fd, err := unix.Openat(parentFd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	c.fds[name] = fd
	return fd, nil
}

// notDirError says why name (base in parentFd) could not be opened as
// a directory: with O_NOFOLLOW|O_DIRECTORY a symlink fails with ENOTDIR
// or ELOOP, like any other non-directory, so look at what is there.
func notDirError(parentFd int, name, base string, err error) error {
	if !errors.Is(err, unix.ENOTDIR) && !errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("open parent directory %q: %w", name, err)
	}
	var st unix.Stat_t
	if unix.Fstatat(parentFd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return fmt.Errorf("parent %q is a symlink; refusing to write through it", name)
	}
	return fmt.Errorf("parent %q is not a directory", name)
}

// cached returns dir's descriptor if the cache holds it.
func (c *dirCache) cached(dir string) (int, bool) {
	if dir == "." {
		return c.root, true
	}
	fd, ok := c.fds[dir]
	return fd, ok
}

// invalidate closes the descriptors of name and everything below it,
// which are about to be removed or replaced.
func (c *dirCache) invalidate(name string) {
	for p, fd := range c.fds {
		if p == name || (len(p) > len(name) && p[len(name)] == '/' && strings.HasPrefix(p, name)) {
			unix.Close(fd)
			delete(c.fds, p)
		}
	}
}

// trim closes every cached descriptor once there are more than
// maxCachedDirs. It runs between entries, when no descriptor from the
// cache is in use.
func (c *dirCache) trim() {
	if len(c.fds) > maxCachedDirs {
		c.closeAll()
	}
}

// closeAll closes every cached descriptor (not the root's).
func (c *dirCache) closeAll() {
	for p, fd := range c.fds {
		unix.Close(fd)
		delete(c.fds, p)
	}
}

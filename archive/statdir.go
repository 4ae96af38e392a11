package archive

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// InfoDirFS is implemented by file systems that list a directory with
// every entry's metadata in one pass. A warm build's context check is
// nothing but this listing, so it is worth a path that costs one
// fstatat per entry and one allocation, where ReadDir and
// DirEntry.Info cost several of each.
type InfoDirFS interface {
	FS
	// ReadDirInfo lists name's entries (not "." and "..") sorted by
	// name, each described as Lstat would.
	ReadDirInfo(name string) ([]fs.FileInfo, error)
}

// ReadDirInfo lists name in fsys with its entries' metadata, through
// InfoDirFS when fsys has it.
func ReadDirInfo(fsys FS, name string) ([]fs.FileInfo, error) {
	if f, ok := fsys.(InfoDirFS); ok {
		return f.ReadDirInfo(name)
	}
	ents, err := fsys.ReadDir(name)
	if err != nil {
		return nil, err
	}
	out := make([]fs.FileInfo, len(ents))
	for i, e := range ents {
		if out[i], err = e.Info(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var _ InfoDirFS = RootFS{}

// ReadDirInfo opens name inside the root (so it cannot escape it) and
// stats each entry relative to the directory's descriptor, never
// following a symlink.
func (r RootFS) ReadDirInfo(name string) ([]fs.FileInfo, error) {
	f, err := r.Root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var out []fs.FileInfo
	var opErr error
	if err := rc.Read(func(fd uintptr) bool {
		out, opErr = statDir(int(fd))
		return true
	}); err != nil {
		return nil, err
	}
	if opErr != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: opErr}
	}
	slices.SortFunc(out, func(a, b fs.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// The kernel fills unix.Stat_t; callers read FileInfo.Sys() as a
// *syscall.Stat_t. Both mirror the kernel's struct stat.
var _ = [1]struct{}{}[unsafe.Sizeof(unix.Stat_t{})-unsafe.Sizeof(syscall.Stat_t{})]
var _ = [1]struct{}{}[unsafe.Sizeof(syscall.Stat_t{})-unsafe.Sizeof(unix.Stat_t{})]

func statDir(fd int) ([]fs.FileInfo, error) {
	buf := make([]byte, 16<<10)
	var names []string
	for {
		n, err := unix.Getdents(fd, buf)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			break
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
	infos := make([]statInfo, len(names))
	out := make([]fs.FileInfo, 0, len(names))
	for i, name := range names {
		si := &infos[i]
		err := unix.Fstatat(fd, name, (*unix.Stat_t)(unsafe.Pointer(&si.st)), unix.AT_SYMLINK_NOFOLLOW)
		for errors.Is(err, syscall.EINTR) {
			err = unix.Fstatat(fd, name, (*unix.Stat_t)(unsafe.Pointer(&si.st)), unix.AT_SYMLINK_NOFOLLOW)
		}
		if errors.Is(err, syscall.ENOENT) {
			continue // removed since the listing, as ReadDir would skip it
		}
		if err != nil {
			return nil, err
		}
		si.name, si.mode = name, fileMode(si.st.Mode)
		out = append(out, si)
	}
	return out, nil
}

// statInfo is an fs.FileInfo over a stat result.
type statInfo struct {
	name string
	mode fs.FileMode
	st   syscall.Stat_t
}

func (s *statInfo) Name() string       { return s.name }
func (s *statInfo) Size() int64        { return s.st.Size }
func (s *statInfo) Mode() fs.FileMode  { return s.mode }
func (s *statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s *statInfo) IsDir() bool        { return s.mode.IsDir() }
func (s *statInfo) Sys() any           { return &s.st }

// fileMode converts st_mode as os.Lstat does.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & syscall.S_IFMT {
	case syscall.S_IFBLK:
		mode |= fs.ModeDevice
	case syscall.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFDIR:
		mode |= fs.ModeDir
	case syscall.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case syscall.S_IFLNK:
		mode |= fs.ModeSymlink
	case syscall.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

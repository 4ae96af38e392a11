package longpath

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Max is the length from which a path is no longer handed to the kernel
// as is. It leaves room under PATH_MAX for "/proc/self/fd/N/".
const Max = 4000

// chunk bounds each directory prefix opened on the way to a long path.
const chunk = 3800

// Do calls fn with a path that names what p names and that the kernel
// accepts: p itself when it is short, else a /proc/self/fd path through
// an open directory, valid only while fn runs. An error fn returns that
// names the /proc path names p instead.
func Do(p string, fn func(short string) error) error {
	if len(p) < Max {
		return fn(p)
	}
	fd, rest, err := openPrefix(p)
	if err != nil {
		return &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	short := "/proc/self/fd/" + strconv.Itoa(fd) + "/" + rest
	return rename(fn(short), short, p)
}

// Long reports whether p is too long to hand to the kernel as is.
func Long(p string) bool { return len(p) >= Max }

// openPrefix opens the directory that holds the last part of p, a
// chunk at a time, and returns its descriptor with the rest of p (shorter
// than chunk).
func openPrefix(p string) (int, string, error) {
	dirfd := unix.AT_FDCWD
	rest := p
	for len(rest) >= chunk {
		i := strings.LastIndexByte(rest[:chunk], '/')
		if i < 0 {
			closeFD(dirfd)
			return -1, "", syscall.ENAMETOOLONG // a component over 3,800 bytes: no file system has one
		}
		head := rest[:i]
		if head == "" {
			head = "/"
		}
		rest = strings.TrimLeft(rest[i+1:], "/")
		fd, err := openat(dirfd, head)
		closeFD(dirfd)
		if err != nil {
			return -1, "", err
		}
		dirfd = fd
	}
	if dirfd == unix.AT_FDCWD {
		// Only reached for a p of Max bytes or more with no long chunk,
		// which cannot happen; keep the contract anyway.
		fd, err := openat(dirfd, ".")
		if err != nil {
			return -1, "", err
		}
		dirfd = fd
	}
	if rest == "" {
		rest = "."
	}
	return dirfd, rest, nil
}

func openat(dirfd int, name string) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		return fd, err
	}
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// rename makes an error about short be about p.
func rename(err error, short, p string) error {
	if err == nil {
		return nil
	}
	swap := func(s string) string {
		if rest, ok := strings.CutPrefix(s, short); ok {
			return p + rest
		}
		return s
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		pe.Path = swap(pe.Path)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		le.Old, le.New = swap(le.Old), swap(le.New)
	}
	return err
}

// Shorten returns p for a message: as is up to 200 bytes, else its start
// and end around the number of bytes left out, so that an error about a
// path of 5,000 bytes stays readable and still names it.
func Shorten(p string) string {
	const keep = 90
	if len(p) <= 200 {
		return p
	}
	head, tail := p[:keep], p[len(p)-keep:]
	return head + "…[" + strconv.Itoa(len(p)-2*keep) + " bytes]…" + tail
}

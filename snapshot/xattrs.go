package snapshot

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/longpath"
)

// xattrs returns the extended attributes of p, not following a final
// symlink, without overlayfs's own and materialize's copiedMark; nil
// when there are none.
func xattrs(p string) (map[string]string, error) {
	var buf []byte
	return readXattrs(xattrFile{path: p, fd: -1}, &buf)
}

// xattrFile names the file whose extended attributes are read: by path,
// not following a final symlink, or through fd when fd >= 0, which
// spares the kernel walking the path again for a file already open.
type xattrFile struct {
	path string
	fd   int
}

func (f xattrFile) list(buf []byte) (int, error) {
	if f.fd >= 0 {
		return unix.Flistxattr(f.fd, buf)
	}
	return longpath.Llistxattr(f.path, buf)
}

func (f xattrFile) get(key string, buf []byte) (int, error) {
	if f.fd >= 0 {
		return unix.Fgetxattr(f.fd, key, buf)
	}
	return longpath.Lgetxattr(f.path, key, buf)
}

// readXattrs is xattrs for f, with *buf as scratch space that it grows
// as needed and a caller reading many files may keep between calls.
func readXattrs(f xattrFile, buf *[]byte) (map[string]string, error) {
	if len(*buf) < 1024 {
		*buf = make([]byte, 1024)
	}
	var n int
	var err error
	for {
		n, err = f.list(*buf)
		if !errors.Is(err, unix.ERANGE) {
			break
		}
		*buf = make([]byte, 2*len(*buf))
	}
	if errors.Is(err, unix.ENOTSUP) || err == nil && n == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out map[string]string
	for k := range strings.SplitSeq(string((*buf)[:n]), "\x00") {
		if k == "" || k == copiedMarkName() || archive.IsOverlayXattr(k) {
			continue
		}
		v, err := getXattr(f, k, buf)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out, nil
}

// getXattr reads the value of key, with *buf as scratch space.
func getXattr(f xattrFile, key string, buf *[]byte) (string, error) {
	for {
		n, err := f.get(key, *buf)
		if errors.Is(err, unix.ERANGE) {
			*buf = make([]byte, 2*len(*buf))
			continue
		}
		if err != nil {
			return "", err
		}
		return string((*buf)[:n]), nil
	}
}

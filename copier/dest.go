package copier

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"syscall"

	"github.com/gorae/gorae/archive"
)

// view is the destination as the copy sees it while planning: the
// entries planned so far over the destination stage's filesystem (base,
// nil for --link or scratch). Paths are clean and relative ("" is /).
type view struct {
	base    archive.FS
	entries map[string]*entry
}

func (v *view) Lstat(name string) (fs.FileInfo, error) {
	name = clean(name)
	if e, ok := v.entries[name]; ok {
		return e.hdr.FileInfo(), nil
	}
	if name == "" {
		if v.base == nil {
			return rootInfo{}, nil
		}
		return v.base.Lstat(".")
	}
	// A planned non-directory replaces whatever the stage had below it.
	for p := path.Dir(name); p != "."; p = path.Dir(p) {
		if e, ok := v.entries[p]; ok {
			if e.hdr.Typeflag != tar.TypeDir {
				return nil, &fs.PathError{Op: "lstat", Path: "/" + name, Err: syscall.ENOTDIR}
			}
			break
		}
	}
	if v.base == nil {
		return nil, &fs.PathError{Op: "lstat", Path: "/" + name, Err: fs.ErrNotExist}
	}
	return v.base.Lstat(name)
}

func (v *view) Readlink(name string) (string, error) {
	name = clean(name)
	if e, ok := v.entries[name]; ok {
		if e.hdr.Typeflag != tar.TypeSymlink {
			return "", &fs.PathError{Op: "readlink", Path: "/" + name, Err: syscall.EINVAL}
		}
		return e.hdr.Linkname, nil
	}
	if v.base == nil {
		return "", &fs.PathError{Op: "readlink", Path: "/" + name, Err: fs.ErrNotExist}
	}
	return v.base.Readlink(name)
}

// put plans e at name; a later entry for the same path wins, as the later
// write would on disk. A non-directory replacing a planned directory
// drops what was planned inside it.
func (v *view) put(name string, e *entry) {
	if old, ok := v.entries[name]; ok && old.hdr.Typeflag == tar.TypeDir && e.hdr.Typeflag != tar.TypeDir {
		prefix := name + "/"
		for k := range v.entries {
			if strings.HasPrefix(k, prefix) {
				delete(v.entries, k)
			}
		}
	}
	v.entries[name] = e
}

type dirMeta struct {
	uid, gid int
	mode     fs.FileMode
}

// mkdirAll makes sure directory p exists in the destination, resolving
// symlinks of the destination on the way as BuildKit's MkdirAll does, and
// returns its resolved path. Missing directories are planned with meta
// and the job's time; existing ones are copied up (see copyUp).
func (j *job) mkdirAll(p string, meta dirMeta) (string, error) {
	p = clean(p)
	rp, fi, err := resolve(j.dest, p, true)
	if err == nil {
		if !fi.IsDir() {
			return "", fmt.Errorf("mkdir /%s: not a directory", p)
		}
		j.copyUp(rp)
		return rp, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("mkdir /%s: %w", p, err)
	}
	parent := path.Dir(rp)
	if parent == "." {
		parent = ""
	}
	pr, err := j.mkdirAll(parent, meta)
	if err != nil {
		return "", err
	}
	target := join(pr, path.Base(rp))
	j.dest.put(target, &entry{spoolOff: -1, hdr: tar.Header{
		Typeflag: tar.TypeDir,
		Mode:     int64(toUnix(meta.mode)),
		Uid:      meta.uid,
		Gid:      meta.gid,
		ModTime:  j.now,
	}})
	return target, nil
}

// copyUp plans the existing directories of the destination stage on the
// path to rp with their own metadata: an overlay diff of the same copy
// would hold them as copied-up parents.
func (j *job) copyUp(rp string) {
	if j.dest.base == nil || rp == "" {
		return
	}
	p := ""
	for c := range strings.SplitSeq(rp, "/") {
		p = join(p, c)
		if _, ok := j.dest.entries[p]; ok {
			continue
		}
		fi, err := j.dest.base.Lstat(p)
		if err != nil || !fi.IsDir() {
			return
		}
		uid, gid := archive.Owner(fi)
		j.dest.put(p, &entry{spoolOff: -1, hdr: tar.Header{
			Typeflag: tar.TypeDir,
			Mode:     int64(toUnix(fi.Mode())),
			Uid:      uid,
			Gid:      gid,
			ModTime:  fi.ModTime(),
		}})
	}
}

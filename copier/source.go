package copier

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/moby/patternmatcher"
)

// putSource plans the source entry p of src (Lstat fi) at target, with
// the owner and mode rules of the copy.
func (j *job) putSource(src Source, p string, fi fs.FileInfo, target string) error {
	e, err := j.sourceEntry(src, p, fi)
	if err != nil {
		return err
	}
	j.dest.put(target, e)
	return nil
}

// sourceEntry is the entry the source p of src (Lstat fi) becomes, with
// the owner and mode rules of the copy.
func (j *job) sourceEntry(src Source, p string, fi fs.FileInfo) (*entry, error) {
	e := &entry{fsys: src.FS, path: p, spoolOff: -1}
	h := &e.hdr
	h.ModTime = fi.ModTime()
	mode := fi.Mode()
	if src.HTTP && mode.IsRegular() {
		mode = 0o600
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch t := mode.Type(); {
	case t == 0:
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		if st != nil && st.Nlink > 1 {
			e.link = &linkKey{item: j.items, dev: uint64(st.Dev), ino: st.Ino}
		}
	case t == fs.ModeDir:
		h.Typeflag = tar.TypeDir
	case t == fs.ModeSymlink:
		h.Typeflag = tar.TypeSymlink
		l, err := src.FS.Readlink(p)
		if err != nil {
			return nil, fmt.Errorf("readlink /%s: %w", p, err)
		}
		h.Linkname = l
	case t&fs.ModeDevice != 0:
		h.Typeflag = tar.TypeBlock
		if t&fs.ModeCharDevice != 0 {
			h.Typeflag = tar.TypeChar
		}
		if st != nil {
			h.Devmajor, h.Devminor = devMajor(uint64(st.Rdev)), devMinor(uint64(st.Rdev))
		}
	case t == fs.ModeNamedPipe:
		h.Typeflag = tar.TypeFifo
	case t == fs.ModeSocket:
		// A socket cannot live in a layer; BuildKit copies it as an
		// empty regular file.
		h.Typeflag = tar.TypeReg
		mode = mode.Perm()
	default:
		return nil, fmt.Errorf("copy /%s: unsupported file type %v", p, t)
	}
	if j.chmod != nil && h.Typeflag != tar.TypeSymlink {
		mode = j.chmod(mode)
	}
	h.Mode = int64(toUnix(mode))
	switch {
	case j.chown != nil:
		h.Uid, h.Gid = j.chown.uid, j.chown.gid
	case src.Context || src.HTTP || src.Git:
		h.Uid, h.Gid = 0, 0
	default:
		h.Uid, h.Gid = ownerOf(fi)
	}
	return e, nil
}

func ownerOf(fi fs.FileInfo) (int, int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}

// Linux's encoding of device numbers (see makedev(3)).
func devMajor(d uint64) int64 { return int64((d>>8)&0xfff | (d>>32)&^0xfff) }
func devMinor(d uint64) int64 { return int64(d&0xff | (d>>12)&^0xff) }

// includer holds a --parents pattern: an entry is copied when the pattern
// matches it or one of its parents.
type includer struct {
	pm    *patternmatcher.PatternMatcher
	comps []string
}

func newIncluder(pattern string) (*includer, error) {
	if pattern == "" {
		return nil, nil
	}
	pm, err := patternmatcher.New([]string{pattern})
	if err != nil {
		return nil, fmt.Errorf("--parents pattern %q: %w", pattern, err)
	}
	return &includer{pm: pm, comps: strings.Split(pattern, "/")}, nil
}

func (in *includer) includes(rel string) bool {
	ok, err := in.pm.MatchesOrParentMatches(rel)
	return err == nil && ok
}

// mayInclude reports whether something below directory rel could match,
// so that walking it is worthwhile.
func (in *includer) mayInclude(rel string) bool {
	if in == nil {
		return true
	}
	for i, c := range strings.Split(rel, "/") {
		if i >= len(in.comps) || in.comps[i] == "**" {
			return true
		}
		if ok, _ := filepath.Match(in.comps[i], c); !ok {
			return false
		}
	}
	return true
}

// planParents copies one --parents source: the part after a "/./" pivot
// (or the whole path) keeps its directories under Dest.
func (j *job) planParents(ctx context.Context, src Source, spec string) error {
	parent, pattern, ok := strings.Cut(spec, "/./")
	if !ok {
		parent, pattern = "/", spec
	}
	pattern = clean(pattern)
	inc, err := newIncluder(pattern)
	if err != nil {
		return err
	}
	roots := []string{clean(parent)}
	if hasWildcards(parent) {
		if roots, err = expand(src.FS, parent); err != nil {
			return err
		}
	}
	if !hasWildcards(parent) && !hasWildcards(pattern) {
		required := join(clean(parent), pattern)
		if _, _, err := resolve(src.FS, required, false); errors.Is(err, fs.ErrNotExist) {
			return notFound(required)
		} else if err != nil {
			return err
		}
	}
	for _, r := range roots {
		j.items++
		rp, fi, err := resolve(src.FS, r, true)
		if errors.Is(err, fs.ErrNotExist) {
			return notFound(r)
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			if pattern != "" {
				continue
			}
			target, err := j.fileTarget(fi.Name(), false)
			if err != nil {
				return err
			}
			if err := j.putSource(src, rp, fi, target); err != nil {
				return err
			}
			continue
		}
		dir, err := j.mkdirAll(j.op.Dest, j.newDirMeta())
		if err != nil {
			return err
		}
		if _, err := j.walkDir(ctx, src, rp, "", dir, inc); err != nil {
			return err
		}
	}
	return nil
}

package snapshot

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// walkCopy lists the changes under directory p of a plain-copy snapshot
// by comparing it with the lowers: names the lowers have and the copy
// lacks are whiteouts, new or changed entries are written, and a
// directory is written when it changed or anything below it did. inLower
// is false below a directory the lowers do not have. It also reports
// whether a skip path was left out somewhere below.
func (d *differ) walkCopy(root, p string, inLower bool) ([]change, bool, error) {
	if err := d.ctx.Err(); err != nil {
		return nil, false, err
	}
	ents, err := os.ReadDir(filepath.Join(root, p))
	if err != nil {
		return nil, false, err
	}
	var lents []fs.DirEntry
	if inLower {
		if lents, err = d.lower.ReadDir(p); err != nil {
			return nil, false, err
		}
	}
	var out []change
	skippedAny := false
	i, j := 0, 0
	for i < len(ents) || j < len(lents) {
		var name string
		switch {
		case i == len(ents):
			name = lents[j].Name()
		case j == len(lents):
			name = ents[i].Name()
		default:
			name = min(ents[i].Name(), lents[j].Name())
		}
		inMerged := i < len(ents) && ents[i].Name() == name
		if inMerged {
			i++
		}
		if j < len(lents) && lents[j].Name() == name {
			j++
		}
		if !inMerged {
			out = append(out, change{name: path.Join(p, ".wh."+name), kind: changeWhiteout})
			continue
		}
		q := path.Join(p, name)
		full := filepath.Join(root, q)
		fi, err := os.Lstat(full)
		if err != nil {
			return nil, false, err
		}
		if d.skipped(q, full, fi, inLower) {
			skippedAny = true
			continue
		}
		lreal, lfi, err := d.lowerEntry(q, inLower)
		if err != nil {
			return nil, false, err
		}
		if fi.IsDir() {
			sub, skipped, err := d.walkCopy(root, q, lfi != nil && lfi.IsDir())
			if err != nil {
				return nil, false, err
			}
			skippedAny = skippedAny || skipped
			if len(sub) > 0 || dirChanged(full, fi, lreal, lfi, skipped) {
				out = append(out, change{name: q, src: full})
				out = append(out, sub...)
			}
			continue
		}
		if lfi == nil || entryChanged(full, fi, lreal, lfi) {
			out = append(out, change{name: q, src: full})
		}
	}
	return out, skippedAny, nil
}

// entryChanged reports whether non-directory fi (at full) differs from
// the lowers' entry lfi (at lreal). The copy keeps mtimes to the
// nanosecond, so an unchanged mtime and size mean unchanged content.
func entryChanged(full string, fi fs.FileInfo, lreal string, lfi fs.FileInfo) bool {
	if fi.Mode() != lfi.Mode() || fi.Size() != lfi.Size() || !fi.ModTime().Equal(lfi.ModTime()) || !sameOwner(fi, lfi) {
		return true
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		a, erra := os.Readlink(full)
		b, errb := os.Readlink(lreal)
		if erra != nil || errb != nil || a != b {
			return true
		}
	}
	if fi.Mode()&(fs.ModeDevice|fs.ModeCharDevice) != 0 {
		sa, oka := fi.Sys().(*syscall.Stat_t)
		sb, okb := lfi.Sys().(*syscall.Stat_t)
		if !oka || !okb || sa.Rdev != sb.Rdev {
			return true
		}
	}
	return !sameXattrs(full, lreal)
}

// xattrs returns the extended attributes of p, not following a final
// symlink, without overlayfs's own.
func xattrs(p string) (map[string]string, error) {
	buf := make([]byte, 1024)
	var n int
	var err error
	for {
		n, err = unix.Llistxattr(p, buf)
		if !errors.Is(err, unix.ERANGE) {
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k := range strings.SplitSeq(string(buf[:n]), "\x00") {
		if k == "" || strings.HasPrefix(k, "trusted.overlay.") {
			continue
		}
		v, err := lgetxattr(p, k)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

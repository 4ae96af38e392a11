package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// A fuzzed layer is applied to base/outer/inner/layer, next to files it
// must never touch; the targets check afterwards that everything outside
// layer is as it was. "@" at the start of a script's link target is
// replaced by base, so that absolute links point somewhere observed.

// FuzzApply applies a layer described by a script, one entry a line:
//
//	d NAME [MODE]          directory
//	f NAME [CONTENT]       regular file
//	l NAME TARGET          symlink
//	h NAME TARGET          hard link
//	p NAME                 fifo
//	c NAME                 0/0 character device (an overlay whiteout)
//	x NAME KEY VALUE       regular file with an xattr
//
// Names may hold "..", absolute paths, whiteouts (.wh.NAME, .wh..wh..opq)
// and anything else; Apply must refuse what leaves the layer, never
// write outside it, never hang and never panic. The seeds are in
// testdata/fuzz/FuzzApply.
func FuzzApply(f *testing.F) {
	f.Fuzz(func(t *testing.T, script string) {
		needRoot(t)
		base := t.TempDir()
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for line := range strings.SplitSeq(script, "\n") {
			fields := strings.SplitN(line, " ", 4)
			if len(fields) < 2 || len(fields[0]) != 1 {
				continue
			}
			h := &tar.Header{Name: fields[1], Mode: 0o644, ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
			arg := func(i int) string {
				if i < len(fields) {
					return strings.Replace(fields[i], "@", base, 1)
				}
				return ""
			}
			var body string
			switch fields[0] {
			case "d":
				h.Typeflag, h.Mode = tar.TypeDir, 0o755
				if m := arg(2); m != "" {
					fmt.Sscanf(m, "%o", &h.Mode)
					h.Mode &= 0o7777
				}
			case "f":
				h.Typeflag, body = tar.TypeReg, strings.Join(fields[2:], " ")
			case "l":
				h.Typeflag, h.Linkname = tar.TypeSymlink, arg(2)
			case "h":
				h.Typeflag, h.Linkname = tar.TypeLink, arg(2)
			case "p":
				h.Typeflag = tar.TypeFifo
			case "c":
				h.Typeflag = tar.TypeChar
			case "x":
				h.Typeflag = tar.TypeReg
				h.PAXRecords = map[string]string{"SCHILY.xattr." + arg(2): arg(3)}
			default:
				continue
			}
			h.Size = int64(len(body))
			if tw.WriteHeader(h) != nil {
				return // not representable in a tar: nothing to apply
			}
			tw.Write([]byte(body))
		}
		tw.Close()
		applyChecked(t, base, b.Bytes())
	})
}

// FuzzApplyRaw applies arbitrary bytes as a layer tar: malformed and
// huge headers, GNU long names, PAX records, sparse files. Its seeds
// (testdata/fuzz/FuzzApplyRaw) are tars with such entries.
func FuzzApplyRaw(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		needRoot(t)
		// Bound the work: a header may claim a terabyte of (sparse)
		// content, which Apply would write out, as tar does.
		tr := tar.NewReader(bytes.NewReader(data))
		var total int64
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if total += h.Size; total > 1<<20 {
				t.Skip("content larger than 1 MiB")
			}
		}
		applyChecked(t, t.TempDir(), data)
	})
}

// applyChecked applies layer under base and fails if anything outside
// the layer directory changed.
func applyChecked(t *testing.T, base string, layer []byte) {
	t.Helper()
	outer := filepath.Join(base, "outer")
	dir := filepath.Join(outer, "inner", "layer")
	for _, d := range []string{filepath.Join(outer, "victim"), dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{filepath.Join(outer, "sentinel"), filepath.Join(outer, "victim", "file")} {
		if err := os.WriteFile(p, []byte("untouched"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshotTree(t, base, dir)
	Apply(context.Background(), dir, bytes.NewReader(layer))
	if after := snapshotTree(t, base, dir); after != before {
		t.Fatalf("Apply changed files outside its directory:\n--- before\n%s--- after\n%s", before, after)
	}
	// The layer directory is still a directory, where it was.
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("layer directory replaced: %v, %v", fi, err)
	}
}

// snapshotTree lists everything under base except the inside of skip:
// path, type, mode, owner, size, mtime and a content hash.
func snapshotTree(t *testing.T, base, skip string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			lines = append(lines, fmt.Sprintf("%s: %v", p, err))
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		uid, gid := Owner(fi)
		if p == skip {
			// Its own mode, owner and times are the layer's "." entry.
			lines = append(lines, strings.TrimPrefix(p, base)+" (layer)")
			return filepath.SkipDir
		}
		line := fmt.Sprintf("%s %v %d:%d %d %d", strings.TrimPrefix(p, base), fi.Mode(), uid, gid, fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

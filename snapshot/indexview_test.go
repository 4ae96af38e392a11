package snapshot

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorae/gorae/archive"
)

// tent is one entry of a test layer tar.
type tent struct {
	h    tar.Header
	body string
}

var testTime = time.Unix(1600000000, 0)

func tf(name, body string) tent {
	return tent{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: testTime}, body}
}

func td(name string, mode int64, uid, gid int) tent {
	return tent{h: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode, Uid: uid, Gid: gid, ModTime: testTime.Add(time.Hour)}}
}

func tl(name, target string) tent {
	return tent{h: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Uid: 3, Gid: 4, ModTime: testTime}}
}

func thl(name, target string) tent {
	return tent{h: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target, ModTime: testTime}}
}

func with(e tent, f func(h *tar.Header)) tent { f(&e.h); return e }

func layerTar(t testing.TB, ents ...tent) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range ents {
		if err := tw.WriteHeader(&e.h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// scenarioTars is threeLayers (view_test.go) as layer tars, plus owners
// and modes on directories, hard links, implied parents and a root entry.
func scenarioTars(t testing.TB) [][]byte {
	return [][]byte{
		layerTar(t,
			td("etc/", 0o755, 0, 0), tf("etc/passwd", "root0"), tf("etc/group", "g0"),
			tf("usr/lib/a", "a0"), tf("usr/lib/b", "b0"),
			with(tf("usr/bin/sh", "sh0"), func(h *tar.Header) { h.Mode = 0o4755 }),
			tf("opt/x", "x0"), tl("bin", "usr/bin"), tf("data/old", "old"),
			td("home/", 0o750, 7, 7), tf("home/u", "u0"),
			td("srv/", 0o700, 9, 9), tf("srv/a", "a0"),
			td("opt2/", 0o755, 0, 0), tf("opt2/z", "z0"),
			tf("var/cache/a", "ca0"),
		),
		layerTar(t,
			with(tf("etc/passwd", "root1"), func(h *tar.Header) { h.Uid, h.Gid = 1000, 1001 }),
			tf("usr/lib/.wh.b", ""),
			td("opt/", 0o755, 0, 0), tf("opt/.wh..wh..opq", ""), tf("opt/y", "y1"),
			tl("abs", "/usr/lib"), tl("esc", "../../../../etc"), tl("loop", "loop"), tl("up", "abs/../../etc"),
			tf("etc/.wh.group", ""),
			td("home/", 0o700, 8, 8),
			tf("var/.wh.cache", ""),
		),
		layerTar(t,
			td("./", 0o751, 0, 0),
			tf("usr/lib/c", "c2"), tf("data", "now a file"), tf("usr/bin/new", "new2"),
			thl("usr/bin/hl", "usr/bin/new"),
			tf("etc/group", "g2"),
			tf("srv/b", "b2"), // srv has no entry here: implied 0755 root
			tl("opt2", "/etc"),
			td("var/cache/", 0o755, 0, 0), tf("var/cache/b", "cb2"),
		),
	}
}

// indexesOf indexes tars with IndexLayer.
func indexesOf(t testing.TB, tars [][]byte) [][]Entry {
	t.Helper()
	out := make([][]Entry, len(tars))
	for i, b := range tars {
		es, err := IndexLayer(t.Context(), bytes.NewReader(b))
		if err != nil {
			t.Fatalf("IndexLayer %d: %v", i, err)
		}
		out[i] = es
	}
	return out
}

// unpackedView unpacks tars with archive.Apply as Store.Unpack does and
// returns the View over them.
func unpackedView(t *testing.T, tars [][]byte) *View {
	t.Helper()
	dirs := make([]string, len(tars))
	for i, b := range tars {
		dirs[i] = filepath.Join(t.TempDir(), "fs")
		if err := os.Mkdir(dirs[i], 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := archive.Apply(t.Context(), dirs[i], bytes.NewReader(b)); err != nil {
			t.Fatalf("apply layer %d: %v", i, err)
		}
	}
	return NewView(dirs)
}

// contentOpen stands in for the caller's open func without root: it
// serves the resolved names the scenario reads.
func contentOpen(calls *[]string) func(string) (fs.File, error) {
	files := map[string]string{
		"etc/passwd": "root1", "etc/group": "g2", "usr/bin/sh": "sh0",
		"usr/bin/new": "new2", "usr/bin/hl": "new2", "usr/lib/a": "a0", "data": "now a file",
	}
	return func(name string) (fs.File, error) {
		*calls = append(*calls, name)
		body, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("open %s: not in the test's content", name)
		}
		return fakeFile{strings.NewReader(body)}, nil
	}
}

type fakeFile struct{ *strings.Reader }

func (fakeFile) Stat() (fs.FileInfo, error) { return nil, errors.ErrUnsupported }
func (fakeFile) Close() error               { return nil }

func readFS(t *testing.T, v archive.FS, name string) string {
	t.Helper()
	f, err := v.Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type statFS interface {
	archive.FS
	Stat(name string) (fs.FileInfo, error)
}

// checkScenario asserts what the scenario must look like, whichever FS
// shows it.
func checkScenario(t *testing.T, v statFS) {
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{".", []string{"abs", "bin", "data", "esc", "etc", "home", "loop", "opt", "opt2", "srv", "up", "usr", "var"}},
		{"usr/lib", []string{"a", "c"}},       // b whited out in the middle layer
		{"opt", []string{"y"}},                // opaque hides x
		{"bin", []string{"hl", "new", "sh"}},  // follows the symlink, merges
		{"etc", []string{"group", "passwd"}},  // group re-created above its whiteout
		{"var/cache", []string{"b"}},          // whited out, re-created: a stays hidden
		{"srv", []string{"a", "b"}},           // merged under an implied parent
		{"opt2", []string{"group", "passwd"}}, // a symlink above hides the lower dir
		{"up", []string{"group", "passwd"}},   // ".." after a symlink's target
	} {
		ents, err := v.ReadDir(tc.dir)
		if err != nil {
			t.Fatalf("ReadDir(%s): %v", tc.dir, err)
		}
		if got := names(ents); !slices.Equal(got, tc.want) {
			t.Errorf("ReadDir(%s) = %v, want %v", tc.dir, got, tc.want)
		}
	}
	for name, want := range map[string]string{
		"etc/passwd": "root1", "etc/group": "g2", "bin/sh": "sh0", "bin/new": "new2",
		"bin/hl": "new2", "abs/a": "a0", "esc/passwd": "root1", "data": "now a file",
	} {
		if got := readFS(t, v, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for name, want := range map[string]struct {
		mode     fs.FileMode
		uid, gid int
	}{
		"etc/passwd": {0o644, 1000, 1001}, // owner from the winning layer
		"home":       {fs.ModeDir | 0o700, 8, 8},
		"srv":        {fs.ModeDir | 0o755, 0, 0}, // the top layer's implied parent
		"usr/bin/sh": {fs.ModeSetuid | 0o755, 0, 0},
		"bin":        {fs.ModeSymlink | 0o777, 3, 4},
		".":          {fs.ModeDir | 0o751, 0, 0},
	} {
		fi, err := v.Lstat(name)
		if err != nil {
			t.Fatalf("Lstat(%s): %v", name, err)
		}
		uid, gid := archive.Owner(fi)
		if fi.Mode() != want.mode || uid != want.uid || gid != want.gid {
			t.Errorf("Lstat(%s) = %v %d:%d, want %v %d:%d", name, fi.Mode(), uid, gid, want.mode, want.uid, want.gid)
		}
	}
	fi, err := v.Lstat("usr/bin/hl")
	if err != nil || fi.Size() != 4 || !fi.ModTime().Equal(testTime) || fi.Name() != "hl" {
		t.Errorf("Lstat(usr/bin/hl) = %v, %v; want the target's size and mtime", fi, err)
	}
	if fi, err := v.Stat("bin"); err != nil || !fi.IsDir() || fi.Name() != "bin" {
		t.Errorf("Stat(bin) = %v, %v; want directory named bin", fi, err)
	}
	if target, err := v.Readlink("abs"); err != nil || target != "/usr/lib" {
		t.Errorf("Readlink(abs) = %q, %v", target, err)
	}
	if _, err := v.Readlink("etc"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Readlink(etc) = %v, want ErrInvalid", err)
	}
	for name, want := range map[string]error{
		"usr/lib/b":   fs.ErrNotExist,  // whiteout
		"abs/b":       fs.ErrNotExist,  // whiteout, through a symlink
		"opt/x":       fs.ErrNotExist,  // below an opaque dir
		"opt2/z":      fs.ErrNotExist,  // below a dir replaced by a symlink
		"var/cache/a": fs.ErrNotExist,  // below a whiteout
		"data/old":    syscall.ENOTDIR, // a file above hides the directory
		"loop/x":      syscall.ELOOP,
		"../etc":      fs.ErrInvalid,
	} {
		if _, err := v.Lstat(name); !errors.Is(err, want) {
			t.Errorf("Lstat(%s) = %v, want %v", name, err, want)
		}
	}
	if _, err := v.Stat("loop"); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("Stat(loop) = %v, want ELOOP", err)
	}
	if _, err := v.ReadDir("data"); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("ReadDir(data) = %v, want ENOTDIR", err)
	}
	d, err := v.Open("abs")
	if err != nil {
		t.Fatal(err)
	}
	ents, err := d.(fs.ReadDirFile).ReadDir(-1)
	if err != nil || !slices.Equal(names(ents), []string{"a", "c"}) {
		t.Errorf("Open(abs).ReadDir = %v, %v", names(ents), err)
	}
	if fi, err := d.Stat(); err != nil || !fi.IsDir() || fi.Name() != "abs" {
		t.Errorf("Open(abs).Stat = %v, %v", fi, err)
	}
}

func TestIndexViewScenario(t *testing.T) {
	var calls []string
	v := NewIndexView(indexesOf(t, scenarioTars(t)), contentOpen(&calls))
	checkScenario(t, v)
	// Open hands the caller the resolved name: no symlink left in it.
	if !slices.Contains(calls, "usr/bin/sh") || !slices.Contains(calls, "usr/lib/a") || slices.Contains(calls, "bin/sh") {
		t.Errorf("open func called with %v, want resolved names", calls)
	}
}

func TestViewScenario(t *testing.T) {
	needRoot(t)
	checkScenario(t, unpackedView(t, scenarioTars(t)))
}

// TestIndexViewAgreesWithView walks both trees completely and probes
// tricky names: everything the index view says must be what the view
// over the unpacked layers says.
func TestIndexViewAgreesWithView(t *testing.T) {
	needRoot(t)
	tars := scenarioTars(t)
	uv := unpackedView(t, tars)
	iv := NewIndexView(indexesOf(t, tars), uv.Open)

	walked := walk(t, uv, ".")
	if got := walk(t, iv, "."); !slices.Equal(got, walked) {
		t.Errorf("index view tree differs from the unpacked view:\n%s", diffLines(walked, got))
	}
	probes := []string{
		".", "bin", "bin/sh", "bin/../etc", "abs", "abs/..", "abs/b", "esc", "esc/passwd",
		"esc/../etc/group", "loop", "loop/x", "data", "data/old", "opt/x", "opt2", "opt2/passwd",
		"opt2/z", "usr/lib/b", "var/cache/a", "etc/passwd/x", "nothing", "nothing/x", "../etc",
		"etc/", "/etc", "srv", "home", "usr/bin/hl", "up", "up/passwd",
	}
	for _, p := range probes {
		for _, op := range []string{"lstat", "stat", "readdir", "readlink", "read"} {
			want, got := probe(uv, op, p), probe(iv, op, p)
			if got != want {
				t.Errorf("%s(%s): index view %q, unpacked view %q", op, p, got, want)
			}
		}
	}
}

// walk describes every entry under dir, one line each, without
// following symlinks.
func walk(t *testing.T, v archive.FS, dir string) []string {
	t.Helper()
	ents, err := v.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%s): %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		p := path.Join(dir, e.Name())
		fi, err := v.Lstat(p)
		if err != nil {
			t.Fatalf("Lstat(%s): %v", p, err)
		}
		if e.Type() != fi.Mode().Type() {
			t.Errorf("%s: listed as %v, Lstat says %v", p, e.Type(), fi.Mode().Type())
		}
		out = append(out, p+" "+describe(v, p, fi))
		if fi.IsDir() {
			out = append(out, walk(t, v, p)...)
		}
	}
	return out
}

// describe is the metadata both views must agree on. Directory sizes are
// the host filesystem's business, and implied directories get the time
// Apply ran, which an index cannot know.
func describe(v archive.FS, name string, fi fs.FileInfo) string {
	uid, gid := archive.Owner(fi)
	s := fmt.Sprintf("%s %v %d:%d", fi.Name(), fi.Mode(), uid, gid)
	if !fi.IsDir() {
		s += fmt.Sprintf(" size=%d", fi.Size())
	}
	if fi.IsDir() && !fi.ModTime().Equal(testTime.Add(time.Hour)) {
		s += " mtime=implied"
	} else {
		s += fmt.Sprintf(" mtime=%d", fi.ModTime().Unix())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s += fmt.Sprintf(" st_mode=%o", st.Mode)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := v.Readlink(name)
		s += fmt.Sprintf(" -> %q %v", target, err)
	}
	return s
}

func probe(v statFS, op, name string) string {
	var fi fs.FileInfo
	var err error
	switch op {
	case "lstat":
		fi, err = v.Lstat(name)
	case "stat":
		fi, err = v.Stat(name)
	case "readdir":
		var ents []fs.DirEntry
		if ents, err = v.ReadDir(name); err == nil {
			return strings.Join(names(ents), ",")
		}
	case "readlink":
		var s string
		if s, err = v.Readlink(name); err == nil {
			return s
		}
	case "read":
		var f fs.File
		if f, err = v.Open(name); err == nil {
			defer f.Close()
			if fi, err = f.Stat(); err == nil && fi.IsDir() {
				return "dir " + fi.Name()
			}
			b, err := io.ReadAll(f)
			return fmt.Sprintf("%q %v", b, err)
		}
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return describe(v, name, fi)
}

func diffLines(want, got []string) string {
	var b strings.Builder
	for _, l := range want {
		if !slices.Contains(got, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}

func TestIndexViewEmpty(t *testing.T) {
	v := NewIndexView(nil, nil)
	fi, err := v.Lstat(".")
	if err != nil || !fi.IsDir() || fi.Mode() != fs.ModeDir|0o755 {
		t.Fatalf("Lstat(.) = %v, %v", fi, err)
	}
	if ents, err := v.ReadDir("."); err != nil || len(ents) != 0 {
		t.Errorf("ReadDir(.) = %v, %v", ents, err)
	}
	if _, err := v.Lstat("etc"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lstat(etc) = %v", err)
	}
}

func TestIndexViewOpenWithoutFunc(t *testing.T) {
	v := NewIndexView(indexesOf(t, [][]byte{layerTar(t, tf("a", "A"))}), nil)
	if _, err := v.Open("a"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Open(a) = %v, want ErrUnsupported", err)
	}
}

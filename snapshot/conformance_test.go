package snapshot

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
)

// The conformance suite runs every scenario against both ways Prepare
// can make a snapshot (an overlay mount and the plain copy) and checks
// that each gives the exact layer Docker would, that both give the same
// bytes, that the layer applied over the lowers is the tree the command
// saw, and that the committed chain directory reads as that tree too.

// Times of the test layers and of what a scenario touches: the command
// runs "now", and settle moves every entry it touched to changedTime so
// that both modes (run a moment apart) write the same bytes.
var (
	dirTime     = testTime.Add(time.Hour) // td's mtime
	changedTime = time.Unix(1700000000, 0)
	touchedTime = time.Unix(1650000000, 0) // the mtime-only scenario's
)

// capV2 is a security.capability value (VFS_CAP_REVISION_2, effective)
// granting CAP_NET_BIND_SERVICE, the xattr setcap writes.
var capV2 = string([]byte{1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})

type scenario struct {
	name   string
	lowers func(t *testing.T) [][]byte     // nil: baseTars
	change func(t *testing.T, m *workTree) // nil: the command changes nothing
	want   []string                        // tarLines of the diff
	// rootLost: the change touches the root directory's own metadata,
	// which a layer cannot record (see Active.Diff).
	rootLost bool
}

// baseTars is the image the scenarios start from: two layers, with a
// hard-link pair, a symlink, nested directories and a root entry.
func baseTars(t *testing.T) [][]byte {
	return [][]byte{
		layerTar(t,
			td("./", 0o755, 0, 0),
			td("bin", 0o755, 0, 0), with(tf("bin/sh", "sh"), func(h *tar.Header) { h.Mode = 0o755 }),
			td("data", 0o755, 0, 0), tf("data/a", "a"), tf("data/b", "b"),
			td("data/sub", 0o755, 0, 0), tf("data/sub/c", "c"), td("data/sub/deep", 0o700, 1, 1), tf("data/sub/deep/d", "d"),
			td("etc", 0o755, 0, 0), tf("etc/group", "g"), tf("etc/passwd", "root"),
			td("link", 0o755, 0, 0), tf("link/x", "x"), thl("link/y", "link/x"),
			tl("sl", "bin/sh"),
			td("usr", 0o755, 0, 0), td("usr/lib", 0o755, 0, 0), tf("usr/lib/f", "f"),
		),
		layerTar(t,
			td("etc", 0o755, 0, 0), tf("etc/hostname", "h"),
			td("usr", 0o755, 0, 0), td("usr/share", 0o755, 2, 2), tf("usr/share/doc", "doc"),
		),
	}
}

// manyTars is twelve layers, each adding f<i> and the later ones
// deleting f<i-5> and replacing the directory d.
func manyTars(t *testing.T) [][]byte {
	var out [][]byte
	for i := range 12 {
		ents := []tent{tf("f"+strconv.Itoa(i), strconv.Itoa(i)), td("d", 0o755, 0, 0), tf("d/g"+strconv.Itoa(i), "g")}
		if i >= 5 {
			ents = append(ents, tf(".wh.f"+strconv.Itoa(i-5), ""), tf("d/.wh..wh..opq", ""))
		}
		out = append(out, layerTar(t, ents...))
	}
	return out
}

func scenarios() []scenario {
	return []scenario{
		{name: "empty"},
		{
			name: "create",
			change: func(t *testing.T, m *workTree) {
				m.write("usr/new", "new", 0o640)
				m.mkdir("opt", 0o750)
				m.mkdir("opt/app", 0o755)
				m.write("opt/app/run", "run", 0o755)
			},
			want: []string{
				"opt/ d 750 0:0 new",
				"opt/app/ d 755 0:0 new",
				`opt/app/run f 755 0:0 new "run"`,
				"usr/ d 755 0:0 new",
				`usr/new f 640 0:0 new "new"`,
			},
		},
		{
			name:   "modify",
			change: func(t *testing.T, m *workTree) { m.write("etc/passwd", "root:x:0:0", 0o644) },
			want:   []string{"etc/ d 755 0:0 dir", `etc/passwd f 644 0:0 new "root:x:0:0"`},
		},
		{
			name: "delete files",
			change: func(t *testing.T, m *workTree) {
				m.remove("etc/hostname") // from the upper lower
				m.remove("data/a")
			},
			want: []string{"data/ d 755 0:0 new", "data/.wh.a", "etc/ d 755 0:0 new", "etc/.wh.hostname"},
		},
		{
			name:   "delete dir",
			change: func(t *testing.T, m *workTree) { m.remove("data/sub") },
			want:   []string{"data/ d 755 0:0 new", "data/.wh.sub"},
		},
		{
			name: "delete file and its parent",
			change: func(t *testing.T, m *workTree) {
				m.remove("data/sub/deep/d")
				m.remove("data/sub/deep")
				m.remove("usr/share/doc")
				m.remove("usr/share")
			},
			want: []string{"data/ d 755 0:0 dir", "data/sub/ d 755 0:0 new", "data/sub/.wh.deep", "usr/ d 755 0:0 new", "usr/.wh.share"},
		},
		{
			name: "recreate dir opaque",
			change: func(t *testing.T, m *workTree) {
				m.remove("data")
				m.mkdir("data", 0o711)
				m.write("data/b", "b2", 0o644)
				m.mkdir("data/sub", 0o755)
				// usr merges two lowers; usr/lib is recreated below it.
				m.remove("usr/lib")
				m.mkdir("usr/lib", 0o755)
			},
			want: []string{
				"data/ d 711 0:0 new",
				"data/.wh..wh..opq",
				`data/b f 644 0:0 new "b2"`,
				"data/sub/ d 755 0:0 new",
				"usr/ d 755 0:0 new",
				"usr/lib/ d 755 0:0 new",
				"usr/lib/.wh..wh..opq",
			},
		},
		{
			name: "file to dir and dir to file",
			change: func(t *testing.T, m *workTree) {
				m.remove("etc/passwd")
				m.mkdir("etc/passwd", 0o755)
				m.write("etc/passwd/x", "x", 0o644)
				m.remove("data/sub")
				m.write("data/sub", "file now", 0o600)
			},
			want: []string{
				"data/ d 755 0:0 new",
				`data/sub f 600 0:0 new "file now"`,
				"etc/ d 755 0:0 new",
				"etc/passwd/ d 755 0:0 new",
				`etc/passwd/x f 644 0:0 new "x"`,
			},
		},
		{
			name: "symlinks",
			change: func(t *testing.T, m *workTree) {
				m.symlink("../bin/sh", "usr/sh")
				m.symlink("/nowhere", "usr/dangling")
				m.remove("etc/group")
				m.symlink("passwd", "etc/group") // a file becomes a link
				m.remove("sl")
				m.symlink("etc", "sl") // a link gets another target
			},
			want: []string{
				"etc/ d 755 0:0 new",
				"etc/group l 777 0:0 new -> passwd",
				"sl l 777 0:0 new -> etc",
				"usr/ d 755 0:0 new",
				"usr/dangling l 777 0:0 new -> /nowhere",
				"usr/sh l 777 0:0 new -> ../bin/sh",
			},
		},
		{
			name: "hard links in the upper",
			change: func(t *testing.T, m *workTree) {
				m.write("usr/h1", "h", 0o644)
				m.link("usr/h1", "usr/h2")
				m.mkdir("opt", 0o755)
				m.link("usr/h1", "opt/h0")
			},
			want: []string{
				"opt/ d 755 0:0 new",
				`opt/h0 f 644 0:0 new "h"`,
				"usr/ d 755 0:0 new",
				"usr/h1 h 644 0:0 new -> opt/h0",
				"usr/h2 h 644 0:0 new -> opt/h0",
			},
		},
		{
			// Docker's overlay2 copies the lower file up, so the layer
			// holds both names and keeps them one file.
			name:   "hard link to a lower file",
			change: func(t *testing.T, m *workTree) { m.link("data/b", "data/z") },
			want: []string{
				"data/ d 755 0:0 new",
				`data/b f 644 0:0 lower "b"`,
				"data/z h 644 0:0 lower -> data/b",
			},
		},
		{
			// overlayfs (index=off) breaks a lower hard link on copy-up:
			// writing link/x leaves link/y as it was.
			name: "write one name of a lower hard link",
			change: func(t *testing.T, m *workTree) {
				m.write("link/x", "x2", 0o644)
			},
			want: []string{"link/ d 755 0:0 dir", `link/x f 644 0:0 new "x2"`},
		},
		{
			name: "xattrs",
			change: func(t *testing.T, m *workTree) {
				m.write("usr/new", "new", 0o644)
				m.setxattr("usr/new", "user.note", "hi")
				m.setxattr("bin/sh", "security.capability", capV2)
				m.setxattr("etc", "user.dir", "d")
			},
			want: []string{
				"bin/ d 755 0:0 dir",
				`bin/sh f 755 0:0 lower "sh" security.capability=` + strconv.Quote(capV2),
				"etc/ d 755 0:0 dir user.dir=\"d\"",
				"usr/ d 755 0:0 new",
				`usr/new f 644 0:0 new "new" user.note="hi"`,
			},
		},
		{
			name: "devices and fifos",
			change: func(t *testing.T, m *workTree) {
				m.mknod("usr/null", unix.S_IFCHR|0o666, unix.Mkdev(1, 3))
				m.mknod("usr/loop9", unix.S_IFBLK|0o660, unix.Mkdev(7, 9))
				m.mknod("usr/fifo", unix.S_IFIFO|0o644, 0)
			},
			want: []string{
				"usr/ d 755 0:0 new",
				"usr/fifo p 644 0:0 new",
				"usr/loop9 b 660 0:0 new 7,9",
				"usr/null c 666 0:0 new 1,3",
			},
		},
		{
			name: "chmod and chown of unchanged content",
			change: func(t *testing.T, m *workTree) {
				m.chmod("etc/passwd", 0o600)
				m.chown("data/b", 1000, 1000)
				m.chmod("usr/lib", 0o700)
				m.chown("usr/share", 0, 0)
				m.chmod("bin/sh", 0o4755)
			},
			want: []string{
				"bin/ d 755 0:0 dir",
				`bin/sh f 4755 0:0 lower "sh"`,
				"data/ d 755 0:0 dir",
				`data/b f 644 1000:1000 lower "b"`,
				"etc/ d 755 0:0 dir",
				`etc/passwd f 600 0:0 lower "root"`,
				"usr/ d 755 0:0 dir",
				"usr/lib/ d 700 0:0 dir",
				"usr/share/ d 755 0:0 dir",
			},
		},
		{
			name:   "mtime only",
			change: func(t *testing.T, m *workTree) { m.chtime("data/b", touchedTime) },
			want:   []string{"data/ d 755 0:0 dir", `data/b f 644 0:0 touched "b"`},
		},
		{
			// Docker and BuildKit never write the root directory into a
			// layer (see Active.Diff), so chmod and chown of / are lost.
			name: "chmod of the root",
			change: func(t *testing.T, m *workTree) {
				m.chmod(".", 0o700)
				m.chown(".", 5, 5)
				m.write("marker", "m", 0o644)
			},
			want:     []string{`marker f 644 0:0 new "m"`},
			rootLost: true,
		},
		{
			name:   "many lowers",
			lowers: manyTars,
			change: func(t *testing.T, m *workTree) {
				m.remove("f7")
				m.write("f10", "ten", 0o644)
				m.remove("d/g11")
			},
			want: []string{"d/ d 755 0:0 new", "d/.wh.g11", `f10 f 644 0:0 new "ten"`, ".wh.f7"},
		},
	}
}

func TestSnapshotConformance(t *testing.T) {
	needRoot(t)
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			tars := map[string][]byte{}
			for _, mode := range []struct {
				name string
				mode prepareMode
			}{{"overlay", modeAuto}, {"copy", modeCopy}} {
				t.Run(mode.name, func(t *testing.T) {
					data, ok := runScenario(t, sc, mode.mode)
					if ok {
						tars[mode.name] = data
					}
				})
			}
			if o, c := tars["overlay"], tars["copy"]; o != nil && c != nil && !bytes.Equal(o, c) {
				t.Errorf("overlay and copy wrote different layers:\n%s", diffLines(tarLines(t, o), tarLines(t, c)))
			}
		})
	}
}

// runScenario runs sc in a fresh store and returns the diff tar.
func runScenario(t *testing.T, sc scenario, mode prepareMode) ([]byte, bool) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lowerTars := baseTars
	if sc.lowers != nil {
		lowerTars = sc.lowers
	}
	var layers []Layer
	for _, b := range lowerTars(t) {
		layers = append(layers, bytesLayer(b))
	}
	lowers, err := s.Unpack(t.Context(), layers)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.prepare(t.Context(), lowers, mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Remove() })
	if mode == modeAuto && a.copied {
		t.Skip("overlayfs is not available here (the store is on overlayfs or the kernel refused the mount)")
	}
	// A plain copy breaks the lowers' hard links as overlayfs's copy-up
	// does (see materialize), so only an overlay shows them as one file
	// before the command writes either name.
	links := !a.copied
	before := treeLines(t, NewView(lowers), links)
	if got := treeLines(t, dirFS(a.Merged), links); !slices.Equal(got, before) {
		t.Fatalf("fresh snapshot differs from its lowers:\n%s", diffLines(before, got))
	}
	m := &workTree{t: t, root: a.Merged}
	if sc.change != nil {
		sc.change(t, m)
	}
	m.settle()
	merged := treeLines(t, dirFS(a.Merged), links)
	mergedRoot := rootLine(t, a.Merged)

	data, changed := diffTar(t, a, nil)
	got := tarLines(t, data)
	if !slices.Equal(got, sc.want) {
		t.Errorf("diff entries:\n%s\ngot:\n%s", diffLines(sc.want, got), strings.Join(got, "\n"))
	}
	if changed != (len(sc.want) > 0) {
		t.Errorf("Diff reported changed = %v with %d entries", changed, len(got))
	}
	if !changed {
		return data, true
	}

	// The layer over the lowers, unpacked elsewhere, is what the command saw.
	s2, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fromTar, err := s2.Unpack(t.Context(), append(slices.Clone(layers), bytesLayer(data)))
	if err != nil {
		t.Fatalf("unpack the diff: %v", err)
	}
	if applied := treeLines(t, NewView(fromTar), links); !slices.Equal(applied, merged) {
		t.Errorf("diff applied over the lowers differs from merged:\n%s", diffLines(merged, applied))
	}
	applied := treeLines(t, NewView(fromTar), true)
	appliedRoot := rootLine(t, fromTar[len(fromTar)-1])
	lowerRoot := rootLine(t, lowers[len(lowers)-1])
	if sc.rootLost {
		if mergedRoot == lowerRoot {
			t.Fatalf("the scenario did not change the root: %s", mergedRoot)
		}
		if appliedRoot != lowerRoot {
			t.Errorf("root after applying the diff = %s, want the lowers' %s", appliedRoot, lowerRoot)
		}
	}

	sum := sha256.Sum256(data)
	diffIDs := make([]v1.Hash, 0, len(layers)+1)
	for _, l := range layers {
		diffIDs = append(diffIDs, l.DiffID)
	}
	diffIDs = append(diffIDs, v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])})
	chain := ChainIDs(diffIDs)[len(layers)]
	if err := a.Commit(t.Context(), s, chain); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	committed := filepath.Join(s.dir, chain.Hex, "fs")
	if got := treeLines(t, NewView(append(slices.Clone(lowers), committed)), links); !slices.Equal(got, merged) {
		t.Errorf("committed chain differs from merged:\n%s", diffLines(merged, got))
	}
	if got := treeLines(t, NewView(append(slices.Clone(lowers), committed)), true); !slices.Equal(got, applied) {
		t.Errorf("committed chain differs from the unpacked diff:\n%s", diffLines(applied, got))
	}
	// The committed directory is a layer like any unpacked one: a later
	// snapshot over it sees the same root whichever way it was made.
	if got := rootLine(t, committed); got != appliedRoot {
		t.Errorf("committed layer root = %s, the unpacked diff's = %s", got, appliedRoot)
	}
	return data, true
}

// workTree applies a scenario's changes to a snapshot's merged directory.
type workTree struct {
	t    *testing.T
	root string
}

func (m *workTree) p(name string) string { return filepath.Join(m.root, name) }

func (m *workTree) must(err error) {
	m.t.Helper()
	if err != nil {
		m.t.Fatal(err)
	}
}

func (m *workTree) write(name, body string, perm os.FileMode) {
	m.t.Helper()
	m.must(os.WriteFile(m.p(name), []byte(body), perm))
	m.must(os.Chmod(m.p(name), perm))
}

func (m *workTree) mkdir(name string, perm os.FileMode) {
	m.t.Helper()
	m.must(os.Mkdir(m.p(name), perm))
	m.must(os.Chmod(m.p(name), perm))
}

func (m *workTree) remove(name string) { m.t.Helper(); m.must(os.RemoveAll(m.p(name))) }

func (m *workTree) symlink(target, name string) { m.t.Helper(); m.must(os.Symlink(target, m.p(name))) }

func (m *workTree) link(old, name string) { m.t.Helper(); m.must(os.Link(m.p(old), m.p(name))) }

func (m *workTree) chmod(name string, mode uint32) { m.t.Helper(); m.must(unix.Chmod(m.p(name), mode)) }

func (m *workTree) chown(name string, uid, gid int) {
	m.t.Helper()
	m.must(os.Lchown(m.p(name), uid, gid))
}

func (m *workTree) mknod(name string, mode uint32, dev uint64) {
	m.t.Helper()
	m.must(unix.Mknod(m.p(name), mode, int(dev)))
	m.must(unix.Chmod(m.p(name), mode&0o7777))
}

func (m *workTree) setxattr(name, key, value string) {
	m.t.Helper()
	m.must(unix.Lsetxattr(m.p(name), key, []byte(value), 0))
}

func (m *workTree) chtime(name string, at time.Time) {
	m.t.Helper()
	ts := unix.NsecToTimespec(at.UnixNano())
	m.must(unix.UtimesNanoAt(unix.AT_FDCWD, m.p(name), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
}

// settle gives every entry the command touched (mtime after the test
// layers' and the mtime-only scenario's) changedTime, as a command
// ending in `find / -newer X | xargs touch -h -d @1700000000` would: the
// two modes run at different instants, and their layers must still be
// byte-equal. The root is left alone: it is never in a layer.
func (m *workTree) settle() {
	m.t.Helper()
	err := filepath.WalkDir(m.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == m.root {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.ModTime().After(touchedTime) {
			ts := unix.NsecToTimespec(changedTime.UnixNano())
			return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
		}
		return nil
	})
	m.must(err)
}

// timeName names the scenario times, so that expectations read.
func timeName(at time.Time) string {
	switch {
	case at.Equal(changedTime):
		return "new"
	case at.Equal(testTime):
		return "lower"
	case at.Equal(dirTime):
		return "dir"
	case at.Equal(touchedTime):
		return "touched"
	}
	return strconv.FormatInt(at.Unix(), 10)
}

// tarLines describes every entry of a layer tar: name, type, mode,
// owner, mtime, content or link target or device, xattrs (sorted).
// Whiteouts, which carry no metadata, are just their names.
func tarLines(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if strings.HasPrefix(path.Base(h.Name), ".wh.") {
			if h.Typeflag != tar.TypeReg || h.Mode != 0 || h.Uid != 0 || h.Gid != 0 || h.Size != 0 || len(h.PAXRecords) != 0 {
				t.Errorf("whiteout %s carries metadata: %+v", h.Name, h)
			}
			out = append(out, h.Name)
			continue
		}
		types := map[byte]string{tar.TypeReg: "f", tar.TypeDir: "d", tar.TypeSymlink: "l", tar.TypeLink: "h", tar.TypeChar: "c", tar.TypeBlock: "b", tar.TypeFifo: "p"}
		s := fmt.Sprintf("%s %s %o %d:%d %s", h.Name, types[h.Typeflag], h.Mode, h.Uid, h.Gid, timeName(h.ModTime))
		switch h.Typeflag {
		case tar.TypeReg:
			s += " " + strconv.Quote(string(body))
		case tar.TypeLink, tar.TypeSymlink:
			s += " -> " + h.Linkname
		case tar.TypeChar, tar.TypeBlock:
			s += fmt.Sprintf(" %d,%d", h.Devmajor, h.Devminor)
		}
		var x []string
		for k, v := range h.PAXRecords {
			if key, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				x = append(x, key+"="+strconv.Quote(v))
			}
		}
		slices.Sort(x)
		for _, kv := range x {
			s += " " + kv
		}
		out = append(out, s)
	}
}

type dirFS string

func (d dirFS) root(t *testing.T) archive.RootFS {
	r, err := os.OpenRoot(string(d))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return archive.RootFS{Root: r}
}

// treeLines describes every entry below the root of v (the root itself
// is never part of a layer; rootLine describes it): path, type, mode,
// owner, mtime (seconds), content, link target, device, xattrs, and
// with links, which entries are one file.
func treeLines(t *testing.T, v any, links bool) []string {
	t.Helper()
	var fsys archive.FS
	var real func(string) string
	switch v := v.(type) {
	case *View:
		fsys = v
		real = func(name string) string {
			n, err := v.resolve("lstat", name, false)
			if err != nil {
				t.Fatal(err)
			}
			return v.real(n.layers[0], n.path)
		}
	case dirFS:
		fsys = v.root(t)
		real = func(name string) string { return filepath.Join(string(v), name) }
	}
	inodes := map[[2]uint64]string{}
	var out []string
	var visit func(dir string)
	visit = func(dir string) {
		ents, err := fsys.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			p := path.Join(dir, e.Name())
			fi, err := fsys.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			uid, gid := archive.Owner(fi)
			s := fmt.Sprintf("%s %v %d:%d %s", p, fi.Mode(), uid, gid, timeName(fi.ModTime().Truncate(time.Second)))
			rp := real(p)
			st, _ := fi.Sys().(*syscall.Stat_t)
			switch {
			case fi.Mode().IsRegular():
				b, err := os.ReadFile(rp)
				if err != nil {
					t.Fatal(err)
				}
				s += " " + strconv.Quote(string(b))
				if links && st != nil && st.Nlink > 1 {
					key := [2]uint64{st.Dev, st.Ino}
					if first, ok := inodes[key]; ok {
						s += " same-as " + first
					} else {
						inodes[key] = p
					}
				}
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := fsys.Readlink(p)
				if err != nil {
					t.Fatal(err)
				}
				s += " -> " + target
			case fi.Mode()&fs.ModeDevice != 0 && st != nil:
				s += fmt.Sprintf(" %d,%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
			}
			s += xattrLine(t, rp)
			out = append(out, s)
			if fi.IsDir() {
				visit(p)
			}
		}
	}
	visit(".")
	return out
}

func xattrLine(t *testing.T, p string) string {
	t.Helper()
	x, err := xattrs(p)
	if err != nil {
		t.Fatal(err)
	}
	var kv []string
	for k, v := range x {
		kv = append(kv, k+"="+strconv.Quote(v))
	}
	slices.Sort(kv)
	if len(kv) == 0 {
		return ""
	}
	return " " + strings.Join(kv, " ")
}

// rootLine describes a directory's own mode, owner and xattrs.
func rootLine(t *testing.T, dir string) string {
	t.Helper()
	fi, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	uid, gid := archive.Owner(fi)
	return fmt.Sprintf("%v %d:%d%s", fi.Mode(), uid, gid, xattrLine(t, dir))
}

// TestCopyWithoutMarks: on a filesystem that refuses trusted xattrs the
// copy cannot tag its directories; a directory made again is then
// written as whiteouts of what it lost, which gives the same tree.
func TestCopyWithoutMarks(t *testing.T) {
	needRoot(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var layers []Layer
	for _, b := range baseTars(t) {
		layers = append(layers, bytesLayer(b))
	}
	lowers, err := s.Unpack(t.Context(), layers)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.prepare(t.Context(), lowers, modeCopy)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Remove()
	if !a.marked {
		t.Fatal("the copy's directories were not marked on this filesystem")
	}
	a.marked = false
	m := &workTree{t: t, root: a.Merged}
	m.remove("data")
	m.mkdir("data", 0o755)
	m.write("data/b", "b2", 0o644)
	m.settle()
	data, _ := diffTar(t, a, nil)
	want := []string{"data/ d 755 0:0 new", "data/.wh.a", `data/b f 644 0:0 new "b2"`, "data/.wh.sub"}
	if got := tarLines(t, data); !slices.Equal(got, want) {
		t.Errorf("diff entries:\n%s", diffLines(want, got))
	}
	s2, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fromTar, err := s2.Unpack(t.Context(), append(layers, bytesLayer(data)))
	if err != nil {
		t.Fatal(err)
	}
	if got, merged := treeLines(t, NewView(fromTar), false), treeLines(t, dirFS(a.Merged), false); !slices.Equal(got, merged) {
		t.Errorf("diff applied over the lowers differs from merged:\n%s", diffLines(merged, got))
	}
}

// TestPrepareRootIgnoresUmask: the root a RUN sees is 0755 even when
// gorae runs under umask 077.
func TestPrepareRootIgnoresUmask(t *testing.T) {
	needRoot(t)
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lowers, err := s.Unpack(t.Context(), []Layer{bytesLayer(layerTar(t, tf("f", "f")))})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []prepareMode{modeAuto, modeCopy} {
		a, err := s.prepare(t.Context(), lowers, mode)
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(a.Merged); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("mode %d: merged root %v, %v; want 0755", mode, fi.Mode(), err)
		}
		a.Remove()
	}
}

package copier

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/graph"
)

// memFS is an in-memory archive.FS with owners, inodes and hard links,
// for tests.
type memFS struct {
	nodes   map[string]*memNode // clean relative paths; the root is implicit
	nextIno uint64
}

type memNode struct {
	mode     fs.FileMode
	uid, gid int
	data     string
	link     string
	ino      uint64
	mtime    time.Time
}

var t0 = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

func newMemFS() *memFS { return &memFS{nodes: map[string]*memNode{}} }

func (m *memFS) add(name string, n *memNode) *memFS {
	name = clean(name)
	if d := path.Dir(name); d != "." {
		if _, ok := m.nodes[d]; !ok {
			m.dir(d, 0o755)
		}
	}
	m.nextIno++
	n.ino = m.nextIno
	if n.mtime.IsZero() {
		n.mtime = t0
	}
	m.nodes[name] = n
	return m
}

func (m *memFS) file(name, data string, perm fs.FileMode) *memFS {
	return m.add(name, &memNode{mode: perm, data: data})
}

func (m *memFS) dir(name string, perm fs.FileMode) *memFS {
	return m.add(name, &memNode{mode: fs.ModeDir | perm})
}

func (m *memFS) symlink(name, target string) *memFS {
	return m.add(name, &memNode{mode: fs.ModeSymlink | 0o777, link: target})
}

func (m *memFS) hardlink(name, existing string) *memFS {
	m.nodes[clean(name)] = m.nodes[clean(existing)]
	return m
}

func (m *memFS) chown(name string, uid, gid int) *memFS {
	n := m.nodes[clean(name)]
	n.uid, n.gid = uid, gid
	return m
}

func (m *memFS) node(name string) (*memNode, error) {
	name = clean(name)
	if name == "" {
		return &memNode{mode: fs.ModeDir | 0o755, mtime: t0}, nil
	}
	n, ok := m.nodes[name]
	if !ok {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return n, nil
}

func (m *memFS) Lstat(name string) (fs.FileInfo, error) {
	n, err := m.node(name)
	if err != nil {
		return nil, err
	}
	nlink := 0
	for _, o := range m.nodes {
		if o == n {
			nlink++
		}
	}
	return memInfo{name: path.Base("/" + clean(name)), n: n, nlink: nlink}, nil
}

func (m *memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	name = clean(name)
	if n, err := m.node(name); err != nil || !n.mode.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	var out []fs.DirEntry
	for p := range m.nodes {
		d := path.Dir(p)
		if d == "." {
			d = ""
		}
		if d == name {
			fi, _ := m.Lstat(p)
			out = append(out, fs.FileInfoToDirEntry(fi))
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

func (m *memFS) Readlink(name string) (string, error) {
	n, err := m.node(name)
	if err != nil {
		return "", err
	}
	return n.link, nil
}

func (m *memFS) Open(name string) (fs.File, error) {
	p, fi, err := resolve(m, name, true)
	if err != nil {
		return nil, err
	}
	n, _ := m.node(p)
	return &memFile{Reader: strings.NewReader(n.data), fi: fi}, nil
}

type memFile struct {
	*strings.Reader
	fi fs.FileInfo
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.fi, nil }
func (f *memFile) Close() error               { return nil }

type memInfo struct {
	name  string
	n     *memNode
	nlink int
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return int64(len(i.n.data)) }
func (i memInfo) Mode() fs.FileMode  { return i.n.mode }
func (i memInfo) ModTime() time.Time { return i.n.mtime }
func (i memInfo) IsDir() bool        { return i.n.mode.IsDir() }
func (i memInfo) Sys() any {
	return &syscall.Stat_t{Dev: 1, Ino: i.n.ino, Nlink: uint64(i.nlink), Uid: uint32(i.n.uid), Gid: uint32(i.n.gid)}
}

var _ archive.FS = (*memFS)(nil)

// tarEntry is one entry read back from a produced layer.
type tarEntry struct {
	tar.Header
	Body string
}

var epoch = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// run writes the layer of op and reads it back.
func run(t *testing.T, op graph.Copy, srcs []Source, o Options) []tarEntry {
	t.Helper()
	ents, err := tryRun(op, srcs, o)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return ents
}

func tryRun(op graph.Copy, srcs []Source, o Options) ([]tarEntry, error) {
	if o.Epoch == nil {
		o.Epoch = &epoch
	}
	var buf bytes.Buffer
	w := archive.NewWriter(&buf, archive.WriterOptions{Epoch: o.Epoch})
	if err := Write(context.Background(), w, op, srcs, o); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	var out []tarEntry
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out = append(out, tarEntry{*h, string(b)})
	}
}

func names(ents []tarEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	return out
}

func find(t *testing.T, ents []tarEntry, name string) tarEntry {
	t.Helper()
	for _, e := range ents {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no entry %q in %q", name, names(ents))
	return tarEntry{}
}

// want checks type, mode, owner and (for files and links) body or target.
func want(t *testing.T, ents []tarEntry, name string, typ byte, mode int64, uid, gid int, bodyOrLink string) {
	t.Helper()
	e := find(t, ents, name)
	if e.Typeflag != typ || e.Mode != mode || e.Uid != uid || e.Gid != gid {
		t.Errorf("%s: type %c mode %#o owner %d:%d; want type %c mode %#o owner %d:%d",
			name, e.Typeflag, e.Mode, e.Uid, e.Gid, typ, mode, uid, gid)
	}
	switch typ {
	case tar.TypeReg:
		if e.Body != bodyOrLink {
			t.Errorf("%s: body %q, want %q", name, e.Body, bodyOrLink)
		}
	case tar.TypeSymlink, tar.TypeLink:
		if e.Linkname != bodyOrLink {
			t.Errorf("%s: link %q, want %q", name, e.Linkname, bodyOrLink)
		}
	}
}

func wantNames(t *testing.T, ents []tarEntry, want ...string) {
	t.Helper()
	if got := names(ents); !slices.Equal(got, want) {
		t.Errorf("entries:\n got %q\nwant %q", got, want)
	}
}

func wantErr(t *testing.T, err error, text string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), text) {
		t.Fatalf("error %v, want one containing %q", err, text)
	}
}

func ctxSrc(fsys archive.FS) []Source { return []Source{{}, {FS: fsys, Context: true}} }

func copyOp(dest string, paths ...string) graph.Copy {
	op := graph.Copy{Dest: dest, Unpack: true}
	for _, p := range paths {
		op.Sources = append(op.Sources, graph.Source{Input: 1, Path: p})
	}
	return op
}

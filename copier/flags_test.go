package copier

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"

	"github.com/gorae/gorae/graph"
	"github.com/klauspost/compress/gzip"
)

// parentsBase is the tree of BuildKit's testCopyRelativeParents.
func parentsBase() *memFS {
	return newMemFS().
		file("test/a/b/c/d/foo", "", 0o644).dir("test/a/b/c/d/e", 0o755).file("test/a/b/c/d/e/bay", "", 0o644).
		file("test/a/b2/c/d/e/bar", "", 0o644).
		file("test/a/b/c2/d/e/baz", "", 0o644).file("test/a/b/c2/d/e2/baz", "", 0o644).
		chown("test", 4, 4)
}

func TestParents(t *testing.T) {
	stage := []Source{{}, {FS: parentsBase()}}
	for _, tc := range []struct {
		srcs []string
		want []string
	}{
		{[]string{"/test/a/b/./c/d"}, []string{"out/", "out/c/", "out/c/d/", "out/c/d/e/", "out/c/d/e/bay", "out/c/d/foo"}},
		{[]string{"./test/a/b/c/d/e"}, []string{"out/", "out/test/", "out/test/a/", "out/test/a/b/", "out/test/a/b/c/", "out/test/a/b/c/d/", "out/test/a/b/c/d/e/", "out/test/a/b/c/d/e/bay"}},
		{[]string{"/test/a/./*/c/d/e"}, []string{"out/", "out/b/", "out/b/c/", "out/b/c/d/", "out/b/c/d/e/", "out/b/c/d/e/bay", "out/b2/", "out/b2/c/", "out/b2/c/d/", "out/b2/c/d/e/", "out/b2/c/d/e/bar"}},
		{[]string{"/test/a/b/c*/./d/**/baz"}, []string{"out/", "out/d/", "out/d/e/", "out/d/e/baz", "out/d/e2/", "out/d/e2/baz"}},
		{[]string{"/test/a/b3*/c"}, []string{"out/"}},
	} {
		op := copyOp("/out/", tc.srcs...)
		op.Parents = true
		ents := run(t, op, stage, Options{})
		wantNames(t, ents, tc.want...)
	}
	op := copyOp("/out/", "test/a/b/c/d/foo")
	op.Parents = true
	ents := run(t, op, stage, Options{})
	// Kept parents carry the source's metadata; Dest is created.
	want(t, ents, "out/", tar.TypeDir, 0o755, 0, 0, "")
	want(t, ents, "out/test/", tar.TypeDir, 0o755, 4, 4, "")

	op = copyOp("/out/", "/test/nonexistent-file")
	op.Parents = true
	_, err := tryRun(op, stage, Options{})
	wantErr(t, err, `"/test/nonexistent-file": not found`)
}

func TestExclude(t *testing.T) {
	ctx := newMemFS().file("d1/a.png", "", 0o644).file("d1/b.txt", "B", 0o644).file("d2/c.png", "", 0o644).
		file("d2/keep.png", "K", 0o644)
	op := copyOp("/o/", ".")
	op.Excludes = []string{"*/*.png"}
	ents := run(t, op, ctxSrc(ctx), Options{})
	// d2 itself is not excluded, so it stays, empty, as in BuildKit.
	wantNames(t, ents, "o/", "o/d1/", "o/d1/b.txt", "o/d2/")

	op.Excludes = []string{"d2", "!d2/keep.png"}
	ents = run(t, op, ctxSrc(ctx), Options{})
	wantNames(t, ents, "o/", "o/d1/", "o/d1/a.png", "o/d1/b.txt", "o/d2/", "o/d2/keep.png")

	// Patterns are relative to the copied directory, not the context.
	op = copyOp("/o/", "d1")
	op.Excludes = []string{"*.png"}
	ents = run(t, op, ctxSrc(ctx), Options{})
	wantNames(t, ents, "o/", "o/b.txt")

	// Excluding everything leaves only the destination (BuildKit's builder6).
	op = copyOp("/6", "d*")
	op.Excludes = []string{"*"}
	ents = run(t, op, ctxSrc(ctx), Options{})
	wantNames(t, ents, "6/")
}

func TestAddArchiveWildcardWithoutSlash(t *testing.T) {
	ctx := newMemFS().
		file("t.tar", string(tarBytes(t, tar.Header{Name: "foo", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "content0"})), 0o600).
		file("b.tar", string(tarBytes(t, tar.Header{Name: "bar", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "content1"})), 0o600)
	ents := run(t, addOp("/dest", "*.tar"), ctxSrc(ctx), Options{})
	wantNames(t, ents, "dest/", "dest/bar", "dest/foo")
	want(t, ents, "dest/foo", tar.TypeReg, 0o644, 0, 0, "content0")
}

func tarBytes(t *testing.T, hdrs ...tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hdrs {
		body := h.Linkname
		if h.Typeflag == tar.TypeReg {
			h.Linkname = ""
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body))
		}
	}
	tw.Close()
	return b.Bytes()
}

func gz(t *testing.T, data []byte) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.String()
}

func addOp(dest string, paths ...string) graph.Copy {
	op := copyOp(dest, paths...)
	op.Add = true
	return op
}

func TestAddExtractsArchives(t *testing.T) {
	// For tarBytes, a regular file's body travels in Linkname.
	data := tarBytes(t,
		tar.Header{Name: "etc/dnf/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 3, Gid: 3, ModTime: t0},
		tar.Header{Name: "etc/dnf/dnf.conf", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 5, Gid: 6, Linkname: "conf", ModTime: t0},
		tar.Header{Name: "usr/lib/x", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "implied", ModTime: t0},
		tar.Header{Name: "usr/lib/y", Typeflag: tar.TypeLink, Linkname: "usr/lib/x", Mode: 0o644},
		tar.Header{Name: "../../escape", Typeflag: tar.TypeReg, Mode: 0o600, Linkname: "in", ModTime: t0},
		tar.Header{Name: "ln", Typeflag: tar.TypeSymlink, Linkname: "/etc/dnf", Mode: 0o777},
	)
	ctx := newMemFS().file("t.tar.gz", gz(t, data), 0o600).file("plain.tar", string(data), 0o600)
	ents := run(t, addOp("/dst", "t.tar.gz"), ctxSrc(ctx), Options{})
	wantNames(t, ents, "dst/", "dst/escape", "dst/etc/", "dst/etc/dnf/", "dst/etc/dnf/dnf.conf", "dst/ln",
		"dst/usr/", "dst/usr/lib/", "dst/usr/lib/x", "dst/usr/lib/y")
	want(t, ents, "dst/etc/dnf/", tar.TypeDir, 0o750, 3, 3, "")
	want(t, ents, "dst/etc/dnf/dnf.conf", tar.TypeReg, 0o640, 5, 6, "conf")
	want(t, ents, "dst/usr/", tar.TypeDir, 0o755, 0, 0, "") // implied
	want(t, ents, "dst/usr/lib/y", tar.TypeLink, 0o644, 0, 0, "dst/usr/lib/x")
	want(t, ents, "dst/escape", tar.TypeReg, 0o600, 0, 0, "in")
	want(t, ents, "dst/ln", tar.TypeSymlink, 0o777, 0, 0, "/etc/dnf")

	op := addOp("/o/", "plain.tar")
	op.Chown = "9:9"
	ents = run(t, op, ctxSrc(ctx), Options{})
	want(t, ents, "o/", tar.TypeDir, 0o755, 9, 9, "")
	want(t, ents, "o/etc/dnf/dnf.conf", tar.TypeReg, 0o640, 9, 9, "conf")

	op = addOp("/o/", "plain.tar")
	op.Unpack = false
	ents = run(t, op, ctxSrc(ctx), Options{})
	want(t, ents, "o/plain.tar", tar.TypeReg, 0o600, 0, 0, string(data))
	ents = run(t, copyOp("/o/", "t.tar.gz"), ctxSrc(ctx), Options{})
	wantNames(t, ents, "o/", "o/t.tar.gz")
}

func TestAddArchiveThroughSymlinks(t *testing.T) {
	// BuildKit's testDockerfileAddArchiveThroughAbsoluteSymlink, in one layer.
	stage := newMemFS().dir("run", 0o755).dir("var", 0o755).symlink("var/run", "/run")
	data := tarBytes(t,
		tar.Header{Name: "var/run/act/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: t0},
		tar.Header{Name: "var/run/act/HEAD", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "ref", ModTime: t0},
		tar.Header{Name: "var/run/act/HEAD.link", Typeflag: tar.TypeLink, Linkname: "var/run/act/HEAD"},
	)
	ctx := newMemFS().file("p.tar", string(data), 0o600)
	ents := run(t, addOp("/", "p.tar"), ctxSrc(ctx), Options{Dest: stage})
	// var/ is only passed through (var/run is a link): not part of the diff.
	wantNames(t, ents, "run/", "run/act/", "run/act/HEAD", "run/act/HEAD.link")
	want(t, ents, "run/act/HEAD.link", tar.TypeLink, 0o644, 0, 0, "run/act/HEAD")
}

func TestAddHTTPAndNonArchive(t *testing.T) {
	data := tarBytes(t, tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"})
	dl := newMemFS().file("t.tar", string(data), 0o644).chown("t.tar", 1, 1)
	ents := run(t, addOp("/d/", "t.tar"), []Source{{}, {FS: dl, HTTP: true}}, Options{})
	wantNames(t, ents, "d/", "d/t.tar")
	want(t, ents, "d/t.tar", tar.TypeReg, 0o600, 0, 0, string(data))

	ctx := newMemFS().file("notes.gz", "\x1f\x8b\x08garbage", 0o644).file("r.txt", strings.Repeat("x", 600), 0o644)
	ents = run(t, addOp("/d/", "notes.gz", "r.txt"), ctxSrc(ctx), Options{})
	wantNames(t, ents, "d/", "d/notes.gz", "d/r.txt")
}

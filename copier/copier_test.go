package copier

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/gorae/gorae/archive"
)

func TestCopyFileIntoSlashDest(t *testing.T) {
	ctx := newMemFS().file("a.txt", "A", 0o640).chown("a.txt", 7, 8)
	ents := run(t, copyOp("/dst/", "a.txt"), ctxSrc(ctx), Options{})
	wantNames(t, ents, "dst/", "dst/a.txt")
	want(t, ents, "dst/", tar.TypeDir, 0o755, 0, 0, "")
	want(t, ents, "dst/a.txt", tar.TypeReg, 0o640, 0, 0, "A") // context: owners 0:0
	if got := find(t, ents, "dst/").ModTime; !got.Equal(epoch) {
		t.Errorf("created dir mtime %v, want the epoch", got)
	}
	if got := find(t, ents, "dst/a.txt").ModTime; !got.Equal(t0) {
		t.Errorf("file mtime %v, want the source's %v", got, t0)
	}
}

func TestCopyFileAsDestOrIntoExistingDir(t *testing.T) {
	ctx := newMemFS().file("a.txt", "A", 0o644)
	ents := run(t, copyOp("/x/y", "a.txt"), ctxSrc(ctx), Options{})
	wantNames(t, ents, "x/", "x/y")
	want(t, ents, "x/y", tar.TypeReg, 0o644, 0, 0, "A")

	stage := newMemFS().dir("x", 0o750).chown("x", 5, 6).dir("x/y", 0o700).chown("x/y", 9, 9)
	ents = run(t, copyOp("/x/y", "a.txt"), ctxSrc(ctx), Options{Dest: stage})
	wantNames(t, ents, "x/", "x/y/", "x/y/a.txt")
	// Existing parents are included as copied up, with their own metadata.
	want(t, ents, "x/", tar.TypeDir, 0o750, 5, 6, "")
	want(t, ents, "x/y/", tar.TypeDir, 0o700, 9, 9, "")
	if got := find(t, ents, "x/").ModTime; !got.Equal(t0) {
		t.Errorf("copied-up dir mtime %v, want its own %v", got, t0)
	}
}

func TestCopyDirContents(t *testing.T) {
	src := newMemFS().
		dir("app", 0o700).
		file("app/main.go", "package main", 0o600).
		dir("app/empty", 0o711).
		symlink("app/link", "main.go").
		symlink("app/out", "/etc/passwd").
		file("app/bin/run", "#!", fs.ModeSetuid|0o755).chown("app/bin/run", 3, 4)
	ents := run(t, copyOp("/srv", "app"), []Source{{}, {FS: src}}, Options{})
	wantNames(t, ents, "srv/", "srv/bin/", "srv/bin/run", "srv/empty/", "srv/link", "srv/main.go", "srv/out")
	// The directory itself is not copied: Dest is created (0755 root).
	want(t, ents, "srv/", tar.TypeDir, 0o755, 0, 0, "")
	want(t, ents, "srv/empty/", tar.TypeDir, 0o711, 0, 0, "")
	want(t, ents, "srv/bin/run", tar.TypeReg, 0o4755, 3, 4, "#!") // stage: owners kept
	want(t, ents, "srv/link", tar.TypeSymlink, 0o777, 0, 0, "main.go")
	want(t, ents, "srv/out", tar.TypeSymlink, 0o777, 0, 0, "/etc/passwd")
}

func TestWildcards(t *testing.T) {
	ctx := newMemFS().file("a.txt", "A", 0o644).file("b.txt", "B", 0o644).file("c.md", "C", 0o644).
		file("d/e.txt", "E", 0o644)
	ents := run(t, copyOp("/w/", "*.txt", "?/*.txt"), ctxSrc(ctx), Options{})
	wantNames(t, ents, "w/", "w/a.txt", "w/b.txt", "w/e.txt")

	// A wildcard matching nothing is skipped next to other sources...
	ents = run(t, copyOp("/w/", "c.md", "nomatch*"), ctxSrc(ctx), Options{})
	wantNames(t, ents, "w/", "w/c.md")
	// ...but a copy of nothing at all fails.
	_, err := tryRun(copyOp("/w/", "nomatch*"), ctxSrc(ctx), Options{})
	wantErr(t, err, "COPY failed: no source files were specified")
	_, err = tryRun(copyOp("/w/", "[x"), ctxSrc(ctx), Options{})
	wantErr(t, err, "bad source pattern")
}

func TestMissingSource(t *testing.T) {
	ctx := newMemFS().file("a.txt", "A", 0o644)
	_, err := tryRun(copyOp("/", "a.txt", "missing.txt"), ctxSrc(ctx), Options{})
	wantErr(t, err, `"/missing.txt": not found`)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("%v does not wrap ErrNotFound", err)
	}
	_, err = tryRun(copyOp("/", "sub/../../missing.txt"), ctxSrc(ctx), Options{})
	wantErr(t, err, `"/missing.txt": not found`)
}

func TestSeveralSourcesNeedSlash(t *testing.T) {
	ctx := newMemFS().file("a.txt", "A", 0o644).file("b.txt", "B", 0o644).file("dir/c", "C", 0o644)
	_, err := tryRun(copyOp("/dst", "a.txt", "b.txt"), ctxSrc(ctx), Options{})
	wantErr(t, err, "When using COPY with more than one source file, the destination must be a directory and end with a /")
	_, err = tryRun(copyOp("/dst", "*.txt"), ctxSrc(ctx), Options{})
	wantErr(t, err, "more than one source file")
	// Into an existing directory it is fine, as in BuildKit.
	stage := newMemFS().dir("dst", 0o755)
	ents := run(t, copyOp("/dst", "a.txt", "b.txt"), ctxSrc(ctx), Options{Dest: stage})
	wantNames(t, ents, "dst/", "dst/a.txt", "dst/b.txt")
	// A directory source creates Dest first, so a later file lands in it.
	ents = run(t, copyOp("/new", "dir", "a.txt"), ctxSrc(ctx), Options{})
	wantNames(t, ents, "new/", "new/a.txt", "new/c")
}

func TestSourcesStayInsideRoot(t *testing.T) {
	ctx := newMemFS().file("a.txt", "A", 0o644).
		symlink("up", "../../../a.txt").
		symlink("abs", "/a.txt").
		dir("d", 0o755).symlink("d/esc", "../../../../etc/shadow")
	ents := run(t, copyOp("/o/", "../../a.txt", "/up", "abs"), ctxSrc(ctx), Options{})
	wantNames(t, ents, "o/", "o/a.txt", "o/abs", "o/up")
	want(t, ents, "o/up", tar.TypeReg, 0o644, 0, 0, "A") // top-level link followed, inside the root
	want(t, ents, "o/abs", tar.TypeReg, 0o644, 0, 0, "A")
	// A link inside a copied directory is copied as a link, target untouched.
	ents = run(t, copyOp("/o/", "d"), ctxSrc(ctx), Options{})
	want(t, ents, "o/esc", tar.TypeSymlink, 0o777, 0, 0, "../../../../etc/shadow")
	// Following a link out of a source path stays in the root too.
	_, err := tryRun(copyOp("/o/", "d/esc"), ctxSrc(ctx), Options{})
	wantErr(t, err, `"/d/esc": not found`)
}

func TestSymlinkSourcesFollowed(t *testing.T) {
	// BuildKit's testCopySymlinks and testCopyThroughSymlinkContext.
	ctx := newMemFS().file("bar", "bar-contents", 0o600).symlink("foo", "bar").
		file("sub/lfile", "lfile", 0o600).symlink("sub/l0", "subfile").file("sub/subfile", "subfile", 0o600).
		symlink("sub/l1", "second").symlink("sub/second", "baz").file("sub/baz", "baz", 0o600).
		symlink("link", "sub")
	ents := run(t, copyOp("/", "foo"), ctxSrc(ctx), Options{})
	want(t, ents, "foo", tar.TypeReg, 0o600, 0, 0, "bar-contents")
	ents = run(t, copyOp("/all/", "sub/l*"), ctxSrc(ctx), Options{})
	wantNames(t, ents, "all/", "all/l0", "all/l1", "all/lfile")
	want(t, ents, "all/l0", tar.TypeReg, 0o600, 0, 0, "subfile")
	want(t, ents, "all/l1", tar.TypeReg, 0o600, 0, 0, "baz")
	ents = run(t, copyOp("/", "link/baz"), ctxSrc(ctx), Options{})
	want(t, ents, "baz", tar.TypeReg, 0o600, 0, 0, "baz")
}

func TestHardLinksPreserved(t *testing.T) {
	src := newMemFS().file("d/b", "same", 0o644).hardlink("d/a", "d/b").file("d/c", "other", 0o644)
	ents := run(t, copyOp("/o/", "d"), []Source{{}, {FS: src}}, Options{})
	wantNames(t, ents, "o/", "o/a", "o/b", "o/c")
	want(t, ents, "o/a", tar.TypeReg, 0o644, 0, 0, "same")
	want(t, ents, "o/b", tar.TypeLink, 0o644, 0, 0, "o/a")
	want(t, ents, "o/c", tar.TypeReg, 0o644, 0, 0, "other")
}

func TestChown(t *testing.T) {
	stage := newMemFS().
		file("etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n", 0o644).
		file("etc/group", "root:x:0:\napp:x:1001:\nstaff:x:50:app\n", 0o644).
		dir("opt", 0o700).chown("opt", 5, 5)
	ctx := newMemFS().file("d/f", "F", 0o644).dir("d/s", 0o755)
	op := copyOp("/opt/new/", "d")
	op.Chown = "app:staff"
	ents := run(t, op, ctxSrc(ctx), Options{Dest: stage})
	wantNames(t, ents, "opt/", "opt/new/", "opt/new/f", "opt/new/s/")
	want(t, ents, "opt/", tar.TypeDir, 0o700, 5, 5, "") // existing: untouched
	want(t, ents, "opt/new/", tar.TypeDir, 0o755, 1000, 50, "")
	want(t, ents, "opt/new/f", tar.TypeReg, 0o644, 1000, 50, "F")
	want(t, ents, "opt/new/s/", tar.TypeDir, 0o755, 1000, 50, "")

	for spec, ids := range map[string][2]int{"app": {1000, 1001}, "1000": {1000, 1000}, "1000:": {1000, 1000}, "7:8": {7, 8}, "app:0": {1000, 0}} {
		op := copyOp("/", "d/f")
		op.Chown = spec
		ents := run(t, op, ctxSrc(ctx), Options{Dest: stage})
		if e := find(t, ents, "f"); e.Uid != ids[0] || e.Gid != ids[1] {
			t.Errorf("--chown=%s: %d:%d, want %d:%d", spec, e.Uid, e.Gid, ids[0], ids[1])
		}
	}
	op = copyOp("/", "d/f")
	op.Chown = "nobody"
	_, err := tryRun(op, ctxSrc(ctx), Options{Dest: stage})
	wantErr(t, err, "unable to find user nobody: no matching entries in passwd file")
	op.Link = true
	_, err = tryRun(op, ctxSrc(ctx), Options{Dest: stage})
	wantErr(t, err, "user and group names can't be resolved when used with --link")
}

func TestChmod(t *testing.T) {
	ctx := newMemFS().file("foo", "F", 0o600).file("d/x", "X", 0o600).dir("d/s", 0o700).symlink("d/l", "x")
	op := copyOp("/parent/sub/foo", "foo")
	op.Chmod = "770"
	ents := run(t, op, ctxSrc(ctx), Options{})
	// BuildKit's testCopyChmod: created parents get the mode too.
	want(t, ents, "parent/", tar.TypeDir, 0o770, 0, 0, "")
	want(t, ents, "parent/sub/", tar.TypeDir, 0o770, 0, 0, "")
	want(t, ents, "parent/sub/foo", tar.TypeReg, 0o770, 0, 0, "F")

	op = copyOp("/o/", "d")
	op.Chmod = "a+X,go-w,u=rw"
	stage := newMemFS().dir("o", 0o755)
	ents = run(t, op, ctxSrc(ctx), Options{Dest: stage})
	want(t, ents, "o/", tar.TypeDir, 0o755, 0, 0, "")
	want(t, ents, "o/x", tar.TypeReg, 0o600, 0, 0, "X")
	want(t, ents, "o/s/", tar.TypeDir, 0o611, 0, 0, "") // 0700 a+X 0711, go-w, u=rw
	want(t, ents, "o/l", tar.TypeSymlink, 0o777, 0, 0, "x")

	op.Chmod = "64a"
	_, err := tryRun(op, ctxSrc(ctx), Options{})
	wantErr(t, err, "invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777")
}

func TestLinkIgnoresDestStage(t *testing.T) {
	stage := newMemFS().dir("opt", 0o700).chown("opt", 5, 5).dir("opt/x", 0o755)
	ctx := newMemFS().file("a", "A", 0o644)
	op := copyOp("/opt/x", "a")
	ents := run(t, op, ctxSrc(ctx), Options{Dest: stage})
	wantNames(t, ents, "opt/", "opt/x/", "opt/x/a")
	op.Link = true
	ents = run(t, op, ctxSrc(ctx), Options{Dest: stage})
	wantNames(t, ents, "opt/", "opt/x")
	want(t, ents, "opt/", tar.TypeDir, 0o755, 0, 0, "")
}

func TestDestSymlinksResolved(t *testing.T) {
	stage := newMemFS().dir("srv/app", 0o750).symlink("app", "/srv/app").file("f", "", 0o644)
	ctx := newMemFS().file("a", "A", 0o644)
	ents := run(t, copyOp("/app/", "a"), ctxSrc(ctx), Options{Dest: stage})
	wantNames(t, ents, "srv/", "srv/app/", "srv/app/a")
	ents = run(t, copyOp("/app", "a"), ctxSrc(ctx), Options{Dest: stage})
	wantNames(t, ents, "srv/", "srv/app/", "srv/app/a")
	_, err := tryRun(copyOp("/f/x/", "a"), ctxSrc(ctx), Options{Dest: stage})
	wantErr(t, err, "not a directory")
}

func TestSocketBecomesFile(t *testing.T) {
	ctx := newMemFS().add("s.sock", &memNode{mode: fs.ModeSocket | 0o600})
	ents := run(t, copyOp("/", "."), ctxSrc(ctx), Options{})
	want(t, ents, "s.sock", tar.TypeReg, 0o600, 0, 0, "")
}

func TestDeterministicAndSorted(t *testing.T) {
	ctx := newMemFS().file("z", "Z", 0o644).file("a/b", "B", 0o644).file("a.b", "AB", 0o644).file("a-", "", 0o644)
	write := func() []byte {
		var buf bytes.Buffer
		w := archive.NewWriter(&buf, archive.WriterOptions{Epoch: &epoch})
		now := time.Now()
		if err := Write(context.Background(), w, copyOp("/o/", "."), ctxSrc(ctx), Options{Epoch: &now}); err != nil {
			t.Fatal(err)
		}
		w.Close()
		return buf.Bytes()
	}
	if !bytes.Equal(write(), write()) {
		t.Error("two writes of the same copy differ")
	}
	ents := run(t, copyOp("/o/", "."), ctxSrc(ctx), Options{})
	wantNames(t, ents, "o/", "o/a/", "o/a/b", "o/a-", "o/a.b", "o/z")
}

func TestBadInput(t *testing.T) {
	op := copyOp("/", "a")
	op.Sources[0].Input = 3
	_, err := tryRun(op, ctxSrc(newMemFS()), Options{})
	wantErr(t, err, "source input 3 is missing")
}

func TestCancelled(t *testing.T) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	err := Write(c, archive.NewWriter(&buf, archive.WriterOptions{}), copyOp("/", "a"), ctxSrc(newMemFS().file("a", "", 0o644)), Options{})
	if err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

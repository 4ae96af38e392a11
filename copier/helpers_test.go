package copier

import (
	"archive/tar"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gorae/gorae/archive"
)

func userFS() *memFS {
	return newMemFS().
		file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001::/home/app:/bin/sh\nsvc:x:998:998::/:/bin/false\n", 0o644).
		file("etc/group", "root:x:0:\napp:x:1001:\nstaff:x:50:app,svc\n", 0o644)
}

func TestLookupUser(t *testing.T) {
	fsys := userFS()
	for spec, ids := range map[string][2]int{
		"":          {0, 0},
		"root":      {0, 0},
		"app":       {1000, 1001},
		"1000":      {1000, 1001}, // numeric in passwd: its primary group
		"4242":      {4242, 0},    // numeric not in passwd: group 0, as runc
		"app:staff": {1000, 50},
		"app:77":    {1000, 77},
		"5:6":       {5, 6},
		"root:root": {0, 0},
	} {
		uid, gid, err := LookupUser(fsys, spec)
		if err != nil || uid != ids[0] || gid != ids[1] {
			t.Errorf("LookupUser(%q) = %d, %d, %v; want %d, %d", spec, uid, gid, err, ids[0], ids[1])
		}
	}
	_, _, err := LookupUser(fsys, "nobody")
	wantErr(t, err, "unable to find user nobody: no matching entries in passwd file")
	_, _, err = LookupUser(fsys, "app:wheel")
	wantErr(t, err, "unable to find group wheel: no matching entries in group file")
	_, _, err = LookupUser(newMemFS(), "app")
	wantErr(t, err, "unable to find user app: no matching entries in passwd file")
	// /etc/passwd through a symlink inside the tree.
	linked := newMemFS().file("data/passwd", "bob:x:12:34::/:/bin/sh\n", 0o644).symlink("etc/passwd", "/data/passwd")
	if uid, gid, err := LookupUser(linked, "bob"); err != nil || uid != 12 || gid != 34 {
		t.Errorf("LookupUser through symlink = %d, %d, %v", uid, gid, err)
	}
}

func TestParseChmod(t *testing.T) {
	for _, tc := range []struct {
		spec string
		in   fs.FileMode
		want fs.FileMode
	}{
		{"0755", 0o600, 0o755},
		{"4755", 0o600, fs.ModeSetuid | 0o755},
		{"0", fs.ModeDir | 0o755, fs.ModeDir},
		{"go-w", 0o666, 0o644},
		{"u=rw,g=r,o=r", 0o777, 0o644},
		{"a+X", 0o644, 0o644},
		{"a+X", 0o744, 0o755},
		{"a+X", fs.ModeDir | 0o600, fs.ModeDir | 0o711},
		{"u+rw,g+r,o-x,o+w", fs.ModeDir | 0o124, fs.ModeDir | 0o766},
		{"g=u", 0o750, 0o770},
		{"u+s,+t", 0o755, fs.ModeSetuid | fs.ModeSticky | 0o755},
		{"o=", 0o777, 0o770},
	} {
		f, err := ParseChmod(tc.spec)
		if err != nil {
			t.Errorf("ParseChmod(%q): %v", tc.spec, err)
			continue
		}
		if got := f(tc.in); got != tc.want {
			t.Errorf("ParseChmod(%q)(%v) = %v, want %v", tc.spec, tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"64a", "10000", ""} {
		_, err := ParseChmod(bad)
		wantErr(t, err, "invalid chmod parameter: '"+bad+"'. it should be octal string and between 0 and 07777")
	}
	_, err := ParseChmod("u+q")
	wantErr(t, err, `unexpected character 'q'`)
	_, err = ParseChmod("ug")
	wantErr(t, err, "missing operator")
}

func TestReadDockerignore(t *testing.T) {
	in := "\ufeff# comment\n\n  node_modules  \n/build\n./dist/\n!build/keep\n**/*.log\n"
	got, err := ReadDockerignore(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"node_modules", "build", "dist", "!build/keep", "**/*.log"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestContextFS(t *testing.T) {
	base := newMemFS().file("main.go", "", 0o644).file("debug.log", "", 0o644).file("sub/x.log", "", 0o644).
		file("build/out", "", 0o644).file("build/keep/k", "K", 0o644).file("secret/key", "", 0o600)
	cfs, err := ContextFS(base, []string{"**/*.log", "build", "!build/keep", "secret"})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	if err := fs.WalkDir(dirFS{cfs}, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		all = append(all, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{".", "build", "build/keep", "build/keep/k", "main.go", "sub"}
	if !slices.Equal(all, want) {
		t.Errorf("visible %q, want %q", all, want)
	}
	for _, p := range []string{"debug.log", "build/out", "secret", "secret/key"} {
		if _, err := cfs.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Lstat(%s) = %v, want not exist", p, err)
		}
		if _, err := cfs.Open(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%s) = %v, want not exist", p, err)
		}
	}
	// COPY . of an ignoring context copies only what is visible.
	ents := run(t, copyOp("/", "."), ctxSrc(cfs), Options{})
	wantNames(t, ents, "build/", "build/keep/", "build/keep/k", "main.go", "sub/")
	_, err = tryRun(copyOp("/", "secret/key"), ctxSrc(cfs), Options{})
	wantErr(t, err, `"/secret/key": not found`)

	if _, err := ContextFS(base, []string{"!"}); err == nil {
		t.Error("a lone ! pattern must fail")
	}
}

// dirFS adapts an archive.FS to fs.ReadDirFS for fs.WalkDir.
type dirFS struct{ archive.FS }

func (d dirFS) ReadDir(name string) ([]fs.DirEntry, error) { return d.FS.ReadDir(name) }

func TestRootFSHardLinksAndOwners(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "d/e"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "d/a"), []byte("same"), 0o644))
	must(os.Link(filepath.Join(dir, "d/a"), filepath.Join(dir, "d/e/b")))
	must(os.Symlink("../a", filepath.Join(dir, "d/e/l")))
	if os.Geteuid() == 0 {
		must(os.Lchown(filepath.Join(dir, "d/a"), 21, 22))
	}
	root, err := os.OpenRoot(dir)
	must(err)
	defer root.Close()
	src := archive.RootFS{Root: root}
	ents := run(t, copyOp("/o/", "d"), []Source{{}, {FS: src}}, Options{})
	wantNames(t, ents, "o/", "o/a", "o/e/", "o/e/b", "o/e/l")
	if e := find(t, ents, "o/e/b"); e.Typeflag != tar.TypeLink || e.Linkname != "o/a" {
		t.Errorf("o/e/b: type %c link %q, want a hard link to o/a", e.Typeflag, e.Linkname)
	}
	want(t, ents, "o/e/l", tar.TypeSymlink, 0o777, ownerOfT(t, dir, "d/e/l"), ownerOfT(t, dir, "d/e/l"), "../a")
	if os.Geteuid() == 0 {
		want(t, ents, "o/a", tar.TypeReg, 0o644, 21, 22, "same")
		ents = run(t, copyOp("/o/", "d"), []Source{{}, {FS: src, Context: true}}, Options{})
		want(t, ents, "o/a", tar.TypeReg, 0o644, 0, 0, "same")
	}
}

func ownerOfT(t *testing.T, dir, p string) int {
	fi, err := os.Lstat(filepath.Join(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := archive.Owner(fi)
	return uid
}

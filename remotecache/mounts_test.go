package remotecache

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/registry"
)

// mountTree fills dir with what a package cache holds, and what a cache
// mount blob must keep or leave out.
func mountTree(t *testing.T, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "pkgs", "sub"), 0o750))
	must(os.WriteFile(filepath.Join(dir, "pkgs", "a.deb"), []byte("package a"), 0o640))
	must(os.WriteFile(filepath.Join(dir, "pkgs", "sub", "b.deb"), []byte("package b"), 0o600))
	must(os.Link(filepath.Join(dir, "pkgs", "a.deb"), filepath.Join(dir, "hard.deb")))
	must(os.Symlink("pkgs/a.deb", filepath.Join(dir, "latest")))
	must(os.WriteFile(filepath.Join(dir, ".wh.ghost"), []byte("would read as a whiteout"), 0o644))
	must(syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	must(err)
	t.Cleanup(func() { l.Close() })
	must(os.Lchown(filepath.Join(dir, "pkgs", "sub", "b.deb"), 1000, 1001))
	must(os.Chmod(dir, os.ModeSticky|0o777))
	must(os.Lchown(dir, 1000, 1001))
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("owners of cache mount entries need root")
	}
}

func TestPackMountRoundTrip(t *testing.T) {
	needRoot(t)
	root := newTestRoot(t)
	src := filepath.Join(t.TempDir(), "mount")
	os.Mkdir(src, 0o755)
	mountTree(t, src)
	l, ok, err := packMount(t.Context(), root.Content, src, 2, mountMeter{})
	if err != nil || !ok {
		t.Fatalf("packMount = %v, %v", ok, err)
	}
	if l.MediaType != mountLayerType || !root.Content.Has(l.Digest) || l.Size <= 0 {
		t.Fatalf("blob %+v", l)
	}
	// Using a mount bumps its root's mtime; that alone changes nothing.
	os.Chtimes(src, time.Time{}, time.Now().Add(time.Hour))
	again, _, err := packMount(t.Context(), root.Content, src, 1, mountMeter{})
	if err != nil || again != l {
		t.Errorf("unchanged mount packed to %+v (%v), first %+v", again, err, l)
	}
	dst := filepath.Join(t.TempDir(), "seeded")
	err = unpackMount(t.Context(), dst, l, func(context.Context) (io.ReadCloser, error) { return root.Content.Open(l.Digest) })
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(dst)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&os.ModePerm != 0o777 || fi.Mode()&os.ModeSticky == 0 || st.Uid != 1000 || st.Gid != 1001 {
		t.Errorf("seeded root %v owned %d:%d, want drwxrwxrwt 1000:1001", fi.Mode(), st.Uid, st.Gid)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "pkgs", "sub", "b.deb")); err != nil || string(b) != "package b" {
		t.Errorf("pkgs/sub/b.deb = %q, %v", b, err)
	}
	if fi, err := os.Lstat(filepath.Join(dst, "pkgs", "sub", "b.deb")); err != nil || fi.Mode() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != 1000 {
		t.Errorf("pkgs/sub/b.deb: %v, %v", fi.Mode(), err)
	}
	if fi, err := os.Lstat(filepath.Join(dst, "pkgs")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("pkgs mode %v, %v", fi.Mode(), err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "latest")); err != nil || target != "pkgs/a.deb" {
		t.Errorf("latest -> %q, %v", target, err)
	}
	a, _ := os.Stat(filepath.Join(dst, "pkgs", "a.deb"))
	h, _ := os.Stat(filepath.Join(dst, "hard.deb"))
	if a == nil || h == nil || !os.SameFile(a, h) {
		t.Error("hard.deb is not a hard link to pkgs/a.deb")
	}
	if fi, err := os.Lstat(filepath.Join(dst, "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("fifo: %v, %v", fi, err)
	}
	for _, gone := range []string{"sock", ".wh.ghost", "ghost"} {
		if _, err := os.Lstat(filepath.Join(dst, gone)); err == nil {
			t.Errorf("%s was carried", gone)
		}
	}
	// A changed file is a new blob.
	os.WriteFile(filepath.Join(src, "pkgs", "sub", "b.deb"), []byte("package b v2"), 0o600)
	if changed, _, _ := packMount(t.Context(), root.Content, src, 1, mountMeter{}); changed.Digest == l.Digest {
		t.Error("a changed mount packed to the same blob")
	}
	if _, ok, err := packMount(t.Context(), root.Content, filepath.Join(src, "absent"), 1, mountMeter{}); ok || err != nil {
		t.Errorf("packMount of a missing directory = %v, %v; want skipped", ok, err)
	}
}

func TestUnpackMountRefusesCorruptAndKeepsExisting(t *testing.T) {
	root := newTestRoot(t)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("cached"), 0o644)
	l, _, err := packMount(t.Context(), root.Content, src, 1, mountMeter{})
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	dst := filepath.Join(parent, "m")
	blob, _ := os.ReadFile(root.Content.Path(l.Digest))
	blob[len(blob)/2] ^= 0xff
	err = unpackMount(t.Context(), dst, l, func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(string(blob))), nil
	})
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("unpack of a corrupt blob = %v", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("a failed seed left %v", ents)
	}
	// An existing directory (made by a build that got there first) stays.
	os.Mkdir(dst, 0o700)
	open := func(context.Context) (io.ReadCloser, error) { return root.Content.Open(l.Digest) }
	if err := unpackMount(t.Context(), dst, l, open); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dst); len(ents) != 0 {
		t.Errorf("seeding replaced an existing mount directory: it holds %v", ents)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Errorf("a lost race left %v", ents)
	}
}

func TestCacheMountIDs(t *testing.T) {
	base := &graph.Node{Op: graph.Scratch{}}
	r1 := &graph.Node{Op: graph.Run{Args: []string{"true"}, Mounts: []graph.Mount{
		{Type: "cache", ID: "pkgs", Target: "/p"}, {Type: "tmpfs", Target: "/t"}, {Type: "secret", ID: "tok"}}}, Inputs: []*graph.Node{base}}
	r2 := &graph.Node{Op: graph.Run{Args: []string{"true"}, Mounts: []graph.Mount{
		{Type: "cache", ID: "/root/.cache"}, {Type: "cache", ID: "pkgs"}}}, Inputs: []*graph.Node{r1}}
	if got := MountIDs([]*graph.Node{r2}); !slices.Equal(got, []string{"/root/.cache", "pkgs"}) {
		t.Errorf("ids = %q", got)
	}
}

// packTestMount packs a one-file mount with content s.
func packTestMount(t *testing.T, r *testRoot, s string) ops.Layer {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pkg"), []byte(s), 0o644)
	l, _, err := packMount(t.Context(), r.Content, dir, 1, mountMeter{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRegistryCacheMounts(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	src := newTestRoot(t)
	base := testutil.PutLayer(t, src.Content, "base")
	pkgs, other := packTestMount(t, src, "pkgs v1"), packTestMount(t, src, "other")
	spec := Spec{Type: "registry", Ref: reg.Host + "/cache/m:1", CacheMounts: true}
	recs := map[string]*ops.State{"k1": testutil.Record(base)}
	var warns []string
	export := func(mounts map[string]ops.Layer) {
		t.Helper()
		if err := exportRegistry(t.Context(), src.Content, nil, spec, reg.Options, recs, mounts, testutil.CollectWarnings(&warns), nil); err != nil {
			t.Fatal(err)
		}
	}
	export(map[string]ops.Layer{"pkgs": pkgs})
	reg.Counts()
	export(map[string]ops.Layer{"pkgs": pkgs})
	if up, _ := reg.Counts(); up != 0 {
		t.Errorf("exporting an unchanged mount uploaded %d blobs, want 0", up)
	}
	// Another build's mount is added; this one's stays.
	export(map[string]ops.Layer{"other": other})
	rc := Import(t.Context(), []Spec{{Type: "registry", Ref: spec.Ref}}, reg.Options, testutil.CollectWarnings(&warns))
	if rc.seeds == nil || rc.seeds.blobs["pkgs"] != pkgs || rc.seeds.blobs["other"] != other || rc.records["k1"] == nil {
		t.Fatalf("imported mounts %+v, records %d", rc.seeds, len(rc.records))
	}
	// The same id again: this build's contents win.
	pkgs2 := packTestMount(t, src, "pkgs v2")
	export(map[string]ops.Layer{"pkgs": pkgs2})
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}

	root := newTestRoot(t)
	rc = Import(t.Context(), []Spec{{Type: "registry", Ref: spec.Ref}}, reg.Options, testutil.CollectWarnings(&warns))
	seed := func(ctx context.Context, id, dir string) error {
		return rc.SeedMount(ctx, id, dir, nil, t.Logf, testutil.CollectWarnings(&warns))
	}
	if reg.GetsOf(pkgs2.Digest) != 0 {
		t.Error("importing the cache downloaded a mount blob before a RUN needed it")
	}
	dir := ops.CacheMountDir(filepath.Join(root.Dir, "mounts"), "pkgs")
	os.MkdirAll(filepath.Dir(dir), 0o700)
	if err := seed(t.Context(), "pkgs", dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pkg")); err != nil || string(b) != "pkgs v2" {
		t.Errorf("seeded pkg = %q, %v; want the newest export's", b, err)
	}
	if err := seed(t.Context(), "unknown", filepath.Join(root.Dir, "mounts", "x")); err != nil {
		t.Errorf("seeding an id no cache has = %v", err)
	}
	if _, err := os.Stat(filepath.Join(root.Dir, "mounts", "x")); err == nil {
		t.Error("an id no cache has was created")
	}

	// A tampered blob: one warning, no directory, the build goes on.
	reg.Tamper(other.Digest)
	odir := ops.CacheMountDir(filepath.Join(root.Dir, "mounts"), "other")
	for range 2 {
		if err := seed(t.Context(), "other", odir); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(odir); err == nil {
		t.Error("a tampered mount blob was unpacked")
	}
	if len(warns) != 1 || !strings.Contains(warns[0], `cache mount "other" is not restored from `) || !strings.Contains(warns[0], "it starts empty") {
		t.Errorf("warnings = %q, want one", warns)
	}
}

func TestLocalCacheMounts(t *testing.T) {
	src := newTestRoot(t)
	pkgs := packTestMount(t, src, "local pkgs")
	dir := filepath.Join(t.TempDir(), "cache")
	var warns []string
	if err := exportLocal(src.Content, nil, dir, nil, map[string]ops.Layer{"pkgs": pkgs}, testutil.CollectWarnings(&warns), nil); err != nil {
		t.Fatal(err)
	}
	blobs := func() int {
		ents, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
		return len(ents)
	}
	n := blobs()
	if err := exportLocal(src.Content, nil, dir, nil, map[string]ops.Layer{"pkgs": pkgs}, testutil.CollectWarnings(&warns), nil); err != nil {
		t.Fatal(err)
	}
	if blobs() != n {
		t.Errorf("exporting an unchanged mount again wrote %d new blobs", blobs()-n)
	}
	// An export without cache mounts keeps the ones already there.
	if err := exportLocal(src.Content, nil, dir, map[string]*ops.State{"k": testutil.Record(testutil.PutLayer(t, src.Content, "l"))}, nil, testutil.CollectWarnings(&warns), nil); err != nil {
		t.Fatal(err)
	}
	rc := Import(t.Context(), []Spec{{Type: "local", Dir: dir}}, registry.Options{}, testutil.CollectWarnings(&warns))
	if rc.seeds == nil || rc.seeds.blobs["pkgs"] != pkgs || len(rc.records) != 1 {
		t.Fatalf("imported %+v, %d records", rc.seeds, len(rc.records))
	}
	root := newTestRoot(t)
	mdir := filepath.Join(root.Dir, "m")
	if err := rc.seed(t.Context(), "pkgs", mdir, mountMeter{}, t.Logf, testutil.CollectWarnings(&warns)); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(mdir, "pkg")); err != nil || string(b) != "local pkgs" {
		t.Errorf("seeded pkg = %q, %v", b, err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
}

package builder

// How a build uses --cache-from: records load lazily, corrupt blobs are
// dropped and rebuilt, and --cache-to exports what the build used.

import (
	"encoding/hex"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/remotecache"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/solver"
)

func keyHex(k solver.Key) string { return hex.EncodeToString(k[:]) }

// exportTestCache writes recs, blobs from src, as a registry cache at
// ref, as a --cache-to type=registry,mode=max does.
func exportTestCache(t *testing.T, src *root.Root, reg *testutil.MemRegistry, ref string, recs map[string]*ops.State) {
	t.Helper()
	err := remotecache.Export(t.Context(), remotecache.ExportOptions{
		To: []remotecache.Spec{{Type: "registry", Ref: ref, Mode: "max"}}, Content: src.Content,
		Records:  func(string) map[string]*ops.State { return recs },
		Registry: reg.Options, Progress: testutil.DiscardPrinter(t),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCacheImportIsLazy(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	src := openTestRoot(t)
	base, top := testutil.PutLayer(t, src.Content, "base layer"), testutil.PutLayer(t, src.Content, "top layer")
	ref := reg.Host + "/cache/lazy:1"
	k1, k2 := solver.Key{1}, solver.Key{2}
	exportTestCache(t, src, reg, ref, map[string]*ops.State{keyHex(k1): testutil.Record(base), keyHex(k2): testutil.Record(base, top)})
	root := openTestRoot(t)
	bc := &buildCache{root: root, compression: archive.Gzip}
	o := Options{CacheFrom: []remotecache.Spec{{Type: "registry", Ref: ref}}, Registry: reg.Options, Progress: testutil.DiscardPrinter(t)}
	done := bc.importRemote(t.Context(), o, startImport(t.Context(), o))
	defer done()
	s, ok, err := bc.Load(t.Context(), k2)
	if err != nil || !ok || len(s.Layers) != 2 {
		t.Fatalf("Load of an imported record = %+v %v %v", s, ok, err)
	}
	if root.Content.Has(top.Digest) || reg.GetsOf(top.Digest) != 0 || reg.GetsOf(base.Digest) != 0 {
		t.Fatal("a cache hit downloaded a layer before anything needed it")
	}
	rc, err := root.Content.Layer(top.Digest, top.DiffID, top.Size, top.MediaType).Compressed()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "top layer" || !root.Content.Has(top.Digest) || reg.GetsOf(top.Digest) != 1 {
		t.Errorf("lazy fetch gave %q, stored=%v, GETs=%d", b, root.Content.Has(top.Digest), reg.GetsOf(top.Digest))
	}
	if root.Content.Has(base.Digest) {
		t.Error("fetching one layer fetched another")
	}
	if recs := bc.records("max", testutil.Record(base, top)); len(recs) != 1 || recs[keyHex(k2)] == nil {
		t.Errorf("max export after one hit = %v, want only k2 (what this build used)", recs)
	}
	// min also keeps the imported records inside the final image, so an
	// inline cache (and the image digest) repeats.
	if recs := bc.records("min", testutil.Record(base, top)); len(recs) != 2 || recs[keyHex(k1)] == nil {
		t.Errorf("min export = %v, want k1 and k2", recs)
	}
	if recs := bc.records("min", testutil.Record(top)); len(recs) != 0 {
		t.Errorf("min export for a final image without the base layer = %v, want none", recs)
	}
	done()
	if _, err := root.Content.Open(base.Digest); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the fetcher outlived the build: Open = %v", err)
	}
}

func TestCorruptRemoteBlobRebuilds(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	src := openTestRoot(t)
	l := testutil.PutLayer(t, src.Content, "honest layer")
	ref := reg.Host + "/cache/corrupt:1"
	k := solver.Key{7}
	exportTestCache(t, src, reg, ref, map[string]*ops.State{keyHex(k): testutil.Record(l)})
	reg.Tamper(l.Digest)
	root := openTestRoot(t)
	bc := &buildCache{root: root, compression: archive.Gzip}
	defer bc.importRemote(t.Context(), Options{CacheFrom: []remotecache.Spec{{Type: "registry", Ref: ref}}, Registry: reg.Options, Progress: testutil.DiscardPrinter(t)}, startImport(t.Context(), Options{CacheFrom: []remotecache.Spec{{Type: "registry", Ref: ref}}, Registry: reg.Options, Progress: testutil.DiscardPrinter(t)}))()
	if _, ok, _ := bc.Load(t.Context(), k); !ok {
		t.Fatal("the record did not load")
	}
	_, err := root.Content.Open(l.Digest)
	var warns []string
	if !bc.retry(err, testutil.CollectWarnings(&warns)) {
		t.Fatalf("a tampered blob (%v) did not ask for a rebuild", err)
	}
	if root.Content.Has(l.Digest) {
		t.Error("the tampered blob was stored")
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "rebuilding the steps that needed it") {
		t.Errorf("warnings = %q", warns)
	}
	if _, ok, _ := bc.Load(t.Context(), k); ok {
		t.Error("the record naming the tampered blob still loads")
	}
	if bc.retry(err, testutil.CollectWarnings(&warns)) {
		t.Error("the same bad blob asked for a second rebuild")
	}
}

// TestCacheNamespace: records are salted by compression and by whether
// the build has an epoch (not by its value: records serve every epoch,
// restamped), except for gzip with the build's clock, and --explain
// compares against the same namespace and target.
func TestCacheNamespace(t *testing.T) {
	epoch := time.Unix(1700000000, 0)
	if got := namespace(archive.Gzip, nil); got != "compression=gzip" {
		t.Errorf("default namespace %q", got)
	}
	if got := namespace(archive.Zstd, &epoch); got != "compression=zstd epoch" {
		t.Errorf("zstd with an epoch: %q", got)
	}
	k := solver.Key{9}
	plain := &buildCache{compression: archive.Gzip}
	salted := &buildCache{compression: archive.Gzip, epoch: &epoch}
	if plain.key(k) != k || salted.key(k) == k || salted.key(k) == (&buildCache{compression: archive.Zstd, epoch: &epoch}).key(k) {
		t.Error("records are not kept apart by namespace")
	}
	other := time.Unix(1600000000, 0)
	if salted.key(k) != (&buildCache{compression: archive.Gzip, epoch: &other}).key(k) {
		t.Error("two epochs do not share records")
	}
	tg := explainTarget(Options{ContextDir: "ctx", Target: "test"})
	if tg.Platform != "linux/"+runtime.GOARCH || tg.Stage != "test" || tg.ContextDir != "ctx" {
		t.Errorf("explain target %+v", tg)
	}
}

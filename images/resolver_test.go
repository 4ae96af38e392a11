package images

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/store"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

func quiet(t *testing.T) *progress.Printer {
	t.Helper()
	p, err := progress.New(io.Discard, "quiet")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func openRoot(t *testing.T) *root.Root {
	t.Helper()
	r, err := root.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// platformImage is a random image whose config names p.
func platformImage(t *testing.T, p v1.Platform) v1.Image {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// pushIndex pushes an index of one random image per platform to
// reg/repo:tag and returns it and its images.
func pushIndex(t *testing.T, reg *testutil.MemRegistry, ref string, ps ...v1.Platform) (v1.ImageIndex, []v1.Image) {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var imgs []v1.Image
	for _, p := range ps {
		img := platformImage(t, p)
		imgs = append(imgs, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	r, err := reg.Options.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, reg.Options.Remote(t.Context())...); err != nil {
		t.Fatal(err)
	}
	return idx, imgs
}

func mustDigest(t *testing.T, x interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestResolveKeepsIndex: resolving two platforms of a multi-platform
// image stores its index under the name with both images, instead of the
// name flipping between platforms; a later build finds both without the
// registry.
func TestResolveKeepsIndex(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	root := openRoot(t)
	ctx := t.Context()
	name := reg.Host + "/lib/multi:1"
	idx, imgs := pushIndex(t, reg, name, amd64, arm64)
	reg.Requests()

	r := &Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}
	for i, p := range []v1.Platform{amd64, arm64} {
		ri, err := r.Resolve(ctx, name, p)
		if err != nil {
			t.Fatal(err)
		}
		if want := mustDigest(t, imgs[i]); ri.Digest != want.String() || ri.Config.Architecture != p.Architecture {
			t.Errorf("Resolve(%s) = %s (%s), want %s", FormatPlatform(p), ri.Digest, ri.Config.Architecture, want)
		}
		// The name is the index after each pull.
		if _, d, err := root.Images.Index(ctx, name); err != nil || d != mustDigest(t, idx) {
			t.Errorf("after resolving %s: Index(name) = %s, %v; want the index %s", FormatPlatform(p), d, err, mustDigest(t, idx))
		}
		// The pinned digest loads, as the base-image op does.
		if _, _, err := root.Images.Image(ctx, ri.Digest); err != nil {
			t.Errorf("Image(%s) = %v", ri.Digest, err)
		}
	}
	if reg.Requests() == 0 {
		t.Fatal("the first resolves did not pull")
	}
	list, err := root.Images.List(ctx)
	if err != nil || len(list) != 1 || fmt.Sprint(list[0].Platforms) != "[linux/amd64 linux/arm64]" {
		t.Fatalf("List = %+v, %v; want one index of both platforms", list, err)
	}

	// Another build, in either order: the store has both.
	r2 := &Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}
	for i, p := range []v1.Platform{arm64, amd64} {
		ri, err := r2.Resolve(ctx, name, p)
		if err != nil {
			t.Fatal(err)
		}
		if want := mustDigest(t, imgs[1-i]); ri.Digest != want.String() {
			t.Errorf("second build: Resolve(%s) = %s, want %s", FormatPlatform(p), ri.Digest, want)
		}
	}
	if n := reg.Requests(); n != 0 {
		t.Errorf("the second build made %d registry requests; want none", n)
	}
}

// TestResolveIndexMissingPlatform: a platform the index lacks is an
// error naming those it has, and a stored index for other platforms says
// so too.
func TestResolveIndexMissingPlatform(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	root := openRoot(t)
	name := reg.Host + "/lib/multi:1"
	pushIndex(t, reg, name, amd64, arm64)
	s390x := v1.Platform{OS: "linux", Architecture: "s390x"}
	_, err := (&Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}).Resolve(t.Context(), name, s390x)
	want := "image " + name + " has no linux/s390x image (it has linux/amd64, linux/arm64): choose another image or --platform"
	if err == nil || err.Error() != want {
		t.Errorf("Resolve(s390x) = %v, want %q", err, want)
	}
	if _, err := (&Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}).Resolve(t.Context(), name, amd64); err != nil {
		t.Fatal(err)
	}
	_, err = (&Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}).Resolve(t.Context(), name, s390x)
	if err == nil || !strings.Contains(err.Error(), "is a multi-platform image (linux/amd64, linux/arm64) with no linux/s390x image: use --platform") {
		t.Errorf("Resolve(s390x) over a stored index = %v", err)
	}
}

// TestPullPlatformThenPush: gorae pull --platform of each platform
// fills the stored index; gorae push of the name pushes the whole index,
// and a partial one pushed elsewhere says which platform to pull.
func TestPullPlatformThenPush(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	root := openRoot(t)
	ctx := t.Context()
	name := reg.Host + "/lib/multi:1"
	idx, imgs := pushIndex(t, reg, name, amd64, arm64)
	d, err := Pull(ctx, root, name, "linux/aarch64", reg.Options, quiet(t))
	if err != nil || d != mustDigest(t, imgs[1]) {
		t.Fatalf("Pull(arm64) = %s, %v; want %s", d, err, mustDigest(t, imgs[1]))
	}
	// Only arm64 is here: pushing it to another repository cannot
	// complete the index.
	partial := reg.Host + "/other/multi:1"
	if err := root.Images.Tag(ctx, name, partial); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Push(ctx, root, partial, reg.Options, quiet(t)); err == nil || !strings.Contains(err.Error(), "gorae pull --platform linux/amd64") {
		t.Errorf("Push of a partial index = %v, want it to say which platform to pull", err)
	}
	if _, err := Pull(ctx, root, name, "linux/amd64", reg.Options, quiet(t)); err != nil {
		t.Fatal(err)
	}
	dest := reg.Host + "/copy/multi:2"
	if err := root.Images.Tag(ctx, name, dest); err != nil {
		t.Fatal(err)
	}
	n, d, err := Push(ctx, root, dest, reg.Options, quiet(t))
	if err != nil || n != dest || d != mustDigest(t, idx) {
		t.Fatalf("Push = %s@%s, %v; want %s@%s", n, d, err, dest, mustDigest(t, idx))
	}
	ref, _ := reg.Options.Parse(dest)
	got, err := remote.Index(ref, reg.Options.Remote(ctx)...)
	if err != nil || mustDigest(t, got) != mustDigest(t, idx) {
		t.Fatalf("pushed index %v", err)
	}
	for _, img := range imgs {
		if _, err := got.Image(mustDigest(t, img)); err != nil {
			t.Errorf("pushed index lacks %s: %v", mustDigest(t, img), err)
		}
	}
}

// TestResolveSingleImage: a plain manifest in the registry is stored as
// it always was, and a stored single image for another platform is
// pulled again.
func TestResolveSingleImage(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	root := openRoot(t)
	ctx := t.Context()
	name := reg.Host + "/lib/single:1"
	img := platformImage(t, arm64)
	ref, _ := reg.Options.Parse(name)
	if err := remote.Write(ref, img, reg.Options.Remote(ctx)...); err != nil {
		t.Fatal(err)
	}
	ri, err := (&Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}).Resolve(ctx, name, arm64)
	if err != nil || ri.Digest != mustDigest(t, img).String() {
		t.Fatalf("Resolve = %v, %v", ri, err)
	}
	if _, _, err := root.Images.Index(ctx, name); !errors.Is(err, store.ErrNotIndex) {
		t.Errorf("Index of a pulled single image = %v", err)
	}
	reg.Requests()
	// BuildKit uses a single-platform image whatever its platform (the
	// frontend warns); the registry is asked first, in case the name is
	// an index there now.
	ri, err = (&Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}).Resolve(ctx, name, amd64)
	if err != nil || ri.Digest != mustDigest(t, img).String() || ri.Config.Architecture != "arm64" {
		t.Errorf("Resolve(amd64) of an arm64 image = %+v, %v", ri, err)
	}
	if reg.Requests() == 0 {
		t.Error("a stored image of another platform was not looked up in the registry")
	}
	// Only stored (the registry does not know it): used too.
	local := reg.Host + "/lib/local:1"
	if err := root.Images.Export(ctx, img, []string{local}); err != nil {
		t.Fatal(err)
	}
	ri, err = (&Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}).Resolve(ctx, local, amd64)
	if err != nil || ri.Digest != mustDigest(t, img).String() {
		t.Errorf("Resolve(amd64) of a stored-only arm64 image = %+v, %v", ri, err)
	}
	// A single image the registry also has under the name (another one,
	// for amd64) does not replace the one stored here.
	mine := reg.Host + "/lib/mine:dev"
	theirs := platformImage(t, amd64)
	mref, _ := reg.Options.Parse(mine)
	if err := remote.Write(mref, theirs, reg.Options.Remote(ctx)...); err != nil {
		t.Fatal(err)
	}
	if err := root.Images.Export(ctx, img, []string{mine}); err != nil {
		t.Fatal(err)
	}
	ri, err = (&Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}).Resolve(ctx, mine, amd64)
	if err != nil || ri.Digest != mustDigest(t, img).String() {
		t.Errorf("Resolve(amd64) of a stored arm64 image the registry has another of = %+v, %v", ri, err)
	}
	if _, d, err := root.Images.Image(ctx, mine); err != nil || d != mustDigest(t, img) {
		t.Errorf("the stored image was replaced: %v, %v", d, err)
	}
}

// TestResolveByDigest: a base image pinned by digest (FROM
// name:tag@sha256:…, the usual way to pin a multi-platform image) is
// pulled and stored under its digest, not refused as a name the store
// cannot hold; each platform of a pinned index is added to it, and a
// later resolve finds them without the registry.
func TestResolveByDigest(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	root := openRoot(t)
	ctx := t.Context()
	idx, imgs := pushIndex(t, reg, reg.Host+"/lib/multi:1", amd64, arm64)
	pinned := reg.Host + "/lib/multi:1@" + mustDigest(t, idx).String()
	for i, p := range []v1.Platform{amd64, arm64} {
		ri, err := (&Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}).Resolve(ctx, pinned, p)
		if err != nil || ri.Digest != mustDigest(t, imgs[i]).String() {
			t.Fatalf("Resolve(%s, %s) = %+v, %v", pinned, FormatPlatform(p), ri, err)
		}
	}
	img := platformImage(t, amd64)
	ref, _ := reg.Options.Parse(reg.Host + "/lib/single:1")
	if err := remote.Write(ref, img, reg.Options.Remote(ctx)...); err != nil {
		t.Fatal(err)
	}
	single := reg.Host + "/lib/single@" + mustDigest(t, img).String()
	if ri, err := (&Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}).Resolve(ctx, single, amd64); err != nil || ri.Digest != mustDigest(t, img).String() {
		t.Fatalf("Resolve(%s) = %+v, %v", single, ri, err)
	}
	reg.Requests()
	for _, c := range []struct {
		ref  string
		p    v1.Platform
		want v1.Image
	}{{pinned, arm64, imgs[1]}, {pinned, amd64, imgs[0]}, {single, amd64, img}} {
		ri, err := (&Resolver{Root: root, Registry: reg.Options, Progress: quiet(t)}).Resolve(ctx, c.ref, c.p)
		if err != nil || ri.Digest != mustDigest(t, c.want).String() {
			t.Errorf("Resolve(%s, %s) again = %+v, %v", c.ref, FormatPlatform(c.p), ri, err)
		}
	}
	if n := reg.Requests(); n != 0 {
		t.Errorf("resolving stored pinned images asked the registry %d times", n)
	}
}

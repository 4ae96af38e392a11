package testutil

import (
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BusyboxIndex is a base image for two platforms: linux/amd64
// (BusyboxTar) and linux/arm64 (BusyboxArm64Tar), in that order, each one
// gzip layer with CMD ["sh"] and Docker's default PATH, created at the
// epoch. The same busybox packages give the same digests. Its media types
// are Docker's (a manifest list) when docker is set, else OCI's. It needs
// an amd64 machine.
func BusyboxIndex(t testing.TB, docker bool) v1.ImageIndex {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("the busybox index pairs this machine's busybox as linux/amd64 with Debian's arm64 one")
	}
	indexType, manifestType, configType := types.OCIImageIndex, types.OCIManifestSchema1, types.OCIConfigJSON
	if docker {
		indexType, manifestType, configType = types.DockerManifestList, types.DockerManifestSchema2, types.DockerConfigJSON
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, manifestType), configType)
	idx := mutate.IndexMediaType(empty.Index, indexType)
	for _, p := range []struct{ arch, tar string }{{"amd64", BusyboxTar(t)}, {"arm64", BusyboxArm64Tar(t)}} {
		img := busyboxImage(t, base, p.tar, p.arch, docker)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: p.arch}},
		})
	}
	return idx
}

func busyboxImage(t testing.TB, base v1.Image, tar, arch string, docker bool) v1.Image {
	t.Helper()
	mt := types.OCILayer
	if docker {
		mt = types.DockerLayer
	}
	layer, err := tarball.LayerFromFile(tar, tarball.WithMediaType(mt), tarball.WithCompressedCaching)
	if err != nil {
		t.Fatal(err)
	}
	epoch := v1.Time{Time: time.Unix(0, 0).UTC()}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{Created: epoch, CreatedBy: "busybox-rootfs.sh (" + arch + ")"}})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", arch, epoch
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Cmd = []string{"sh"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// PushBusyboxIndex pushes BusyboxIndex to ref (e.g. Registry(t) +
// "/base/busybox:multi"; loopback registries are spoken to over plain
// HTTP) and returns the index's digest.
func PushBusyboxIndex(t testing.TB, ref string, docker bool) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx := BusyboxIndex(t, docker)
	if err := remote.WriteIndex(r, idx, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push the busybox index to %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

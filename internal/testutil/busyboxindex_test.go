package testutil

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestBusyboxIndex: the two-platform base is what it says (platforms,
// media types, an arm64 busybox with its applet links and users) and is
// reproducible.
func TestBusyboxIndex(t *testing.T) {
	idx := BusyboxIndex(t, false)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex || len(im.Manifests) != 2 {
		t.Fatalf("index %s with %d manifests", im.MediaType, len(im.Manifests))
	}
	for i, arch := range []string{"amd64", "arm64"} {
		d := im.Manifests[i]
		if d.Platform == nil || d.Platform.String() != "linux/"+arch || d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("manifest %d: %s %v, want linux/%s", i, d.MediaType, d.Platform, arch)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != arch || cf.OS != "linux" || strings.Join(cf.Config.Cmd, " ") != "sh" {
			t.Errorf("manifest %d config: %s/%s cmd %v", i, cf.OS, cf.Architecture, cf.Config.Cmd)
		}
		files := layerFiles(t, img)
		if files["./bin/sh"].Linkname != "/bin/busybox" || files["./etc/passwd"] == nil || files["./home/app/"] == nil || files["./home/app/"].Uid != 1000 {
			t.Errorf("linux/%s rootfs lacks /bin/sh → /bin/busybox, /etc/passwd or /home/app owned by 1000", arch)
		}
		f, err := elf.NewFile(bytes.NewReader(files["./bin/busybox"].data))
		if err != nil {
			t.Fatalf("linux/%s /bin/busybox: %v", arch, err)
		}
		if want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]; f.Machine != want {
			t.Errorf("linux/%s /bin/busybox is for %v", arch, f.Machine)
		}
	}

	again, err := BusyboxIndex(t, false).Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := idx.Digest(); d != again {
		t.Errorf("two busybox indexes: %s and %s", d, again)
	}
}

type tarFile struct {
	*tar.Header
	data []byte
}

func layerFiles(t *testing.T, img v1.Image) map[string]*tarFile {
	t.Helper()
	ls, err := img.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("layers: %d, %v", len(ls), err)
	}
	rc, err := ls[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]*tarFile{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = &tarFile{Header: h, data: b}
	}
}

// TestBusyboxArm64Runs: the arm64 busybox is a working program, run here
// through the machine's qemu-aarch64 handler when there is one.
func TestBusyboxArm64Runs(t *testing.T) {
	bb := BusyboxArm64(t)
	if _, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-aarch64"); err != nil {
		t.Skip("no qemu-aarch64 binfmt_misc handler (make deps registers it)")
	}
	out, err := exec.Command(bb, "echo", "hello from arm64").CombinedOutput()
	if err != nil || string(out) != "hello from arm64\n" {
		t.Errorf("%s echo: %q, %v", bb, out, err)
	}
}

// TestPushBusyboxIndex: the index arrives in a real registry as is, with
// Docker media types when asked.
func TestPushBusyboxIndex(t *testing.T) {
	reg := Registry(t)
	for _, docker := range []bool{false, true} {
		ref := reg + "/base/busybox:oci"
		want := types.OCIImageIndex
		if docker {
			ref, want = reg+"/base/busybox:docker", types.DockerManifestList
		}
		d := PushBusyboxIndex(t, ref, docker)
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Get(r)
		if err != nil {
			t.Fatal(err)
		}
		if desc.Digest != d || desc.MediaType != want {
			t.Errorf("%s: %s %s, want %s %s", ref, desc.MediaType, desc.Digest, want, d)
		}
	}
}

package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
)

// bytesLayer is a Layer over a tar held in memory.
func bytesLayer(data []byte) Layer {
	sum := sha256.Sum256(data)
	return Layer{
		DiffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])},
		Open:   func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
	}
}

// twoLayers unpacks a base of two layers into s.
func twoLayers(t *testing.T, s *Store) ([]Layer, []string) {
	t.Helper()
	layers := []Layer{
		bytesLayer(layerTar(t,
			td("bin", 0o755, 0, 0), tf("bin/sh", "sh"),
			td("etc", 0o755, 0, 0), tf("etc/passwd", "root"),
			td("opt", 0o755, 0, 0), tf("opt/keep", "k"),
			td("var", 0o755, 0, 0), td("var/lib", 0o755, 0, 0), tf("var/lib/a", "a"), tf("var/lib/b", "b"),
		)),
		bytesLayer(layerTar(t,
			td("etc", 0o755, 0, 0), tf("etc/group", "g"),
			td("usr", 0o755, 0, 0), tf("usr/x", "x"),
		)),
	}
	lowers, err := s.Unpack(t.Context(), layers)
	if err != nil {
		t.Fatal(err)
	}
	return layers, lowers
}

// mutate does what a RUN might to the tree at m.
func mutate(t *testing.T, m string) {
	t.Helper()
	p := func(n string) string { return filepath.Join(m, n) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(p("usr/new"), []byte("new"), 0o640))
	must(os.Chmod(p("usr/new"), 0o640))
	must(unix.Lsetxattr(p("usr/new"), "user.note", []byte("hi"), 0))
	must(os.WriteFile(p("etc/passwd"), []byte("root2"), 0o644))
	must(os.Remove(p("etc/group")))
	must(os.RemoveAll(p("opt")))
	must(os.RemoveAll(p("var/lib")))
	must(os.Mkdir(p("var/lib"), 0o755))
	must(os.WriteFile(p("var/lib/c"), []byte("c"), 0o644))
	must(os.Link(p("usr/new"), p("usr/link")))
	must(os.Symlink("../bin/sh", p("usr/sl")))
	must(os.Chmod(p("bin/sh"), 0o700))
	must(os.Lchown(p("bin/sh"), 5, 6))
	// What a sandbox creates to bind-mount over.
	must(os.WriteFile(p("etc/resolv.conf"), nil, 0o644))
}

// tarEntries describes every entry of a layer tar.
func tarEntries(t *testing.T, data []byte) []string {
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
		s := fmt.Sprintf("%s %c %o %d:%d", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid)
		switch h.Typeflag {
		case tar.TypeReg:
			s += fmt.Sprintf(" %q", body)
		case tar.TypeLink, tar.TypeSymlink:
			s += " -> " + h.Linkname
		}
		for k, v := range h.PAXRecords {
			if strings.HasPrefix(k, "SCHILY.xattr.") {
				s += " " + k[len("SCHILY.xattr."):] + "=" + v
			}
		}
		out = append(out, s)
	}
}

func diffTar(t *testing.T, a *Active, skip []string) ([]byte, bool) {
	t.Helper()
	var b bytes.Buffer
	w := archive.NewWriter(&b, archive.WriterOptions{})
	changed, err := a.Diff(t.Context(), w, skip)
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), changed
}

func mounted(t *testing.T, dir string) bool {
	t.Helper()
	ms, err := Mounts()
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(ms, func(m Mount) bool { return m.Point == dir })
}

// volatileMount fails the test unless the overlay at dir was mounted
// volatile, where the kernel has the option (see Active.mount).
func volatileMount(t *testing.T, dir string) {
	t.Helper()
	if noVolatile.Load() {
		t.Log("this kernel has no volatile overlays")
		return
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir {
			if !strings.Contains(line, "volatile") {
				t.Errorf("overlay at %s is not volatile: %s", dir, line)
			}
			return
		}
	}
	t.Errorf("nothing mounted at %s", dir)
}

func TestOverlayDiffCommit(t *testing.T) {
	needRoot(t)
	t.Run("overlay", func(t *testing.T) { testDiffCommit(t, modeAuto) })
	t.Run("copy", func(t *testing.T) { testDiffCommit(t, modeCopy) })
}

func testDiffCommit(t *testing.T, mode prepareMode) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	layers, lowers := twoLayers(t, s)
	a, err := s.prepare(t.Context(), lowers, mode)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Remove()
	if a.copied != (mode == modeCopy) {
		t.Fatalf("copied = %v for mode %d", a.copied, mode)
	}
	if mounted(t, a.Merged) == a.copied {
		t.Fatalf("mounted = %v, copied = %v", !a.copied, a.copied)
	}
	if !a.copied {
		volatileMount(t, a.Merged) // through mount(2)
	}
	if got, err := os.ReadFile(filepath.Join(a.Merged, "etc/group")); err != nil || string(got) != "g" {
		t.Fatalf("merged etc/group = %q, %v", got, err)
	}
	mutate(t, a.Merged)

	data, changed := diffTar(t, a, []string{"etc/resolv.conf", "/etc/hosts"})
	if !changed {
		t.Error("Diff reported no change")
	}
	// Both modes see rm -rf + mkdir as an opaque directory (a copy by
	// the directory's missing copiedMark).
	varLib := []string{"var/lib/.wh..wh..opq 0 0 0:0 \"\""}
	want := slices.Concat([]string{
		"bin/ 5 755 0:0",
		"bin/sh 0 700 5:6 \"sh\"",
		"etc/ 5 755 0:0",
		"etc/.wh.group 0 0 0:0 \"\"",
		"etc/passwd 0 644 0:0 \"root2\"",
		".wh.opt 0 0 0:0 \"\"",
		"usr/ 5 755 0:0",
		"usr/link 0 640 0:0 \"new\" user.note=hi",
		"usr/new 1 640 0:0 -> usr/link user.note=hi",
		"usr/sl 2 777 0:0 -> ../bin/sh",
		"var/ 5 755 0:0",
		"var/lib/ 5 755 0:0",
	}, varLib, []string{
		"var/lib/c 0 644 0:0 \"c\"",
	})
	if got := tarEntries(t, data); !slices.Equal(got, want) {
		t.Errorf("diff entries:\n%s", diffLines(want, got))
	}

	// The committed layer on top of the lowers reads as Merged did.
	root, err := os.OpenRoot(a.Merged)
	if err != nil {
		t.Fatal(err)
	}
	before := walk(t, archive.RootFS{Root: root}, ".")
	root.Close()
	before = slices.DeleteFunc(before, func(s string) bool { return strings.HasPrefix(s, "etc/resolv.conf ") })
	sum := sha256.Sum256(data)
	diffIDs := []v1.Hash{layers[0].DiffID, layers[1].DiffID, {Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}}
	chain := ChainIDs(diffIDs)[2]
	if err := a.Commit(t.Context(), s, chain); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	committed := filepath.Join(s.dir, chain.Hex, "fs")
	after := walk(t, NewView(append(slices.Clone(lowers), committed)), ".")
	if !slices.Equal(before, after) {
		t.Errorf("committed view differs from merged:\n%s", diffLines(before, after))
	}
	if mounted(t, a.Merged) {
		t.Error("Commit left the overlay mounted")
	}
	if _, err := os.Lstat(a.Dir); !os.IsNotExist(err) {
		t.Errorf("Commit left %s: %v", a.Dir, err)
	}
	// Another store unpacking the diff tar gets the same tree.
	s2, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fromTar, err := s2.Unpack(t.Context(), []Layer{layers[0], layers[1], bytesLayer(data)})
	if err != nil {
		t.Fatal(err)
	}
	if unpacked := walk(t, NewView(fromTar), "."); !slices.Equal(unpacked, after) {
		t.Errorf("unpacked diff differs from the committed layer:\n%s", diffLines(after, unpacked))
	}
}

func TestOverlayNoChange(t *testing.T) {
	needRoot(t)
	for _, mode := range []prepareMode{modeAuto, modeCopy} {
		t.Run(strconv.Itoa(int(mode)), func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			_, lowers := twoLayers(t, s)
			a, err := s.prepare(t.Context(), lowers, mode)
			if err != nil {
				t.Fatal(err)
			}
			// Only what the sandbox creates: not a change.
			if err := os.WriteFile(filepath.Join(a.Merged, "etc/resolv.conf"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			data, changed := diffTar(t, a, []string{"etc/resolv.conf"})
			if got := tarEntries(t, data); changed || len(got) != 0 {
				t.Errorf("Diff = %v, %q; want no change", changed, got)
			}
			// A non-empty skip path is the command's own output.
			if err := os.WriteFile(filepath.Join(a.Merged, "etc/resolv.conf"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			data, changed = diffTar(t, a, []string{"etc/resolv.conf"})
			want := []string{"etc/ 5 755 0:0", "etc/resolv.conf 0 644 0:0 \"x\""}
			if got := tarEntries(t, data); !changed || !slices.Equal(got, want) {
				t.Errorf("Diff = %v, %q; want %q", changed, got, want)
			}
			merged, dir := a.Merged, a.Dir
			if err := a.Remove(); err != nil {
				t.Fatal(err)
			}
			if mounted(t, merged) {
				t.Error("Remove left the overlay mounted")
			}
			if _, err := os.Lstat(dir); !os.IsNotExist(err) {
				t.Errorf("Remove left %s: %v", dir, err)
			}
		})
	}
}

func TestPrepareNoLowers(t *testing.T) {
	needRoot(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Prepare(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Remove()
	if err := os.WriteFile(filepath.Join(a.Merged, "f"), []byte("f"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, changed := diffTar(t, a, nil)
	if got, want := tarEntries(t, data), []string{"f 0 600 0:0 \"f\""}; !changed || !slices.Equal(got, want) {
		t.Errorf("Diff = %v, %q; want %q", changed, got, want)
	}
}

func TestOpenCleansStaleActive(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(dir, "active", strconv.Itoa(cmd.ProcessState.Pid())+"-0011")
	live := filepath.Join(dir, "active", strconv.Itoa(os.Getpid())+"-0022")
	// A dead pid whose lock is held: another pid namespace's snapshot.
	foreign := filepath.Join(dir, "active", strconv.Itoa(cmd.ProcessState.Pid())+"-0033")
	for _, d := range []string{filepath.Join(dead, "merged"), filepath.Join(live, "merged"), foreign} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	lock, err := ownerLock(foreign)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Mount("tmpfs", filepath.Join(dead, "merged"), "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(filepath.Join(dead, "merged"), unix.MNT_DETACH) })
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if mounted(t, filepath.Join(dead, "merged")) {
		t.Error("stale mount left mounted")
	}
	if _, err := os.Lstat(dead); !os.IsNotExist(err) {
		t.Errorf("stale snapshot left: %v", err)
	}
	for _, d := range []string{live, foreign} {
		if _, err := os.Lstat(d); err != nil {
			t.Errorf("live snapshot removed: %v", err)
		}
	}
}

// TestPrepareManyLowers mounts more lowers than fit in mount(2)'s
// one-page option string.
func TestPrepareManyLowers(t *testing.T) {
	needRoot(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var layers []Layer
	for i := range 80 {
		layers = append(layers, bytesLayer(layerTar(t, tf("f"+strconv.Itoa(i), strconv.Itoa(i)))))
	}
	lowers, err := s.Unpack(t.Context(), layers)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Join(lowers, ":")); n < os.Getpagesize() {
		t.Fatalf("lowerdir option is only %d bytes; the test needs more layers", n)
	}
	a, err := s.Prepare(t.Context(), lowers)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Remove()
	if !mounted(t, a.Merged) {
		t.Fatal("not mounted")
	}
	volatileMount(t, a.Merged) // through the new mount API
	for _, i := range []int{0, 79} {
		got, err := os.ReadFile(filepath.Join(a.Merged, "f"+strconv.Itoa(i)))
		if err != nil || string(got) != strconv.Itoa(i) {
			t.Errorf("f%d = %q, %v", i, got, err)
		}
	}
	if err := os.Remove(filepath.Join(a.Merged, "f0")); err != nil {
		t.Fatal(err)
	}
	data, _ := diffTar(t, a, nil)
	if got, want := tarEntries(t, data), []string{".wh.f0 0 0 0:0 \"\""}; !slices.Equal(got, want) {
		t.Errorf("diff = %q, want %q", got, want)
	}
}

func TestCommitNeedsDiffAndKeepsWinner(t *testing.T) {
	needRoot(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, lowers := twoLayers(t, s)
	chain := testDiffID("c")
	commit := func(body string) (*Active, error) {
		a, err := s.Prepare(t.Context(), lowers)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Remove() })
		if err := os.WriteFile(filepath.Join(a.Merged, "f"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if body == "" {
			return a, a.Commit(t.Context(), s, chain)
		}
		diffTar(t, a, nil)
		return a, a.Commit(t.Context(), s, chain)
	}
	if _, err := commit(""); err == nil || !strings.Contains(err.Error(), "call Diff first") {
		t.Errorf("Commit without Diff: %v", err)
	}
	if _, err := commit("first"); err != nil {
		t.Fatal(err)
	}
	a, err := commit("second")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(a.Dir); !os.IsNotExist(err) {
		t.Errorf("losing Commit left %s: %v", a.Dir, err)
	}
	got, err := os.ReadFile(filepath.Join(s.dir, chain.Hex, "fs", "f"))
	if err != nil || string(got) != "first" {
		t.Errorf("committed f = %q, %v; want the first commit's", got, err)
	}
}

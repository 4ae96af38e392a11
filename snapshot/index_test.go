package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/archive"
)

func testDiffID(c string) v1.Hash { return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(c, 64)} }

func TestIndexRoundTrip(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	entries := []Entry{
		{Name: ".", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: 1},
		{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 1000, Gid: 1001, Size: 1 << 40, ModTime: -5},
		{Name: "bin", Typeflag: tar.TypeSymlink, Linkname: "usr/bin", ModTime: 1600000000},
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
		{Name: "ünïcode/.wh.x", Typeflag: tar.TypeReg, Xattrs: map[string]string{"user.a": "1", "security.capability": "\x00\x01"}},
	}
	if _, ok, err := s.LoadIndex(testDiffID("a")); ok || err != nil {
		t.Fatalf("LoadIndex before SaveIndex = %v, %v; want missing", ok, err)
	}
	if err := s.SaveIndex(testDiffID("a"), entries); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.LoadIndex(testDiffID("a"))
	if err != nil || !ok {
		t.Fatalf("LoadIndex = %v, %v", ok, err)
	}
	if !reflect.DeepEqual(got, entries) {
		t.Errorf("LoadIndex = %+v\nwant %+v", got, entries)
	}
	// An empty layer has an index too.
	if err := s.SaveIndex(testDiffID("b"), nil); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.LoadIndex(testDiffID("b")); err != nil || !ok || len(got) != 0 {
		t.Errorf("LoadIndex(empty) = %v, %v, %v", got, ok, err)
	}
	if err := s.SaveIndex(v1.Hash{Algorithm: "sha256", Hex: "../../x"}, nil); err == nil || !strings.Contains(err.Error(), "not a sha256 digest") {
		t.Errorf("SaveIndex with a bad diffID = %v", err)
	}
	ents, err := os.ReadDir(filepath.Join(s.dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("left temporary file %s", e.Name())
		}
	}
}

func TestIndexCorruptIsMissing(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := testDiffID("c")
	entries := []Entry{{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3}, {Name: "b", Typeflag: tar.TypeDir}}
	if err := s.SaveIndex(id, entries); err != nil {
		t.Fatal(err)
	}
	p, _ := s.indexPath(id)
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":     {},
		"truncated": good[:len(good)-5],
		"flipped":   append(append([]byte{}, good[:20]...), append([]byte{good[20] ^ 1}, good[21:]...)...),
		"garbage":   []byte(strings.Repeat("x", 100)),
		"json":      []byte(`[{"Name":"a"}]`),
	} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.LoadIndex(id)
		if ok || err != nil || got != nil {
			t.Errorf("%s index: LoadIndex = %v, %v, %v; want missing", name, got, ok, err)
		}
	}
	// Saving again repairs it.
	if err := s.SaveIndex(id, entries); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := s.LoadIndex(id); !ok || !reflect.DeepEqual(got, entries) {
		t.Errorf("LoadIndex after repair = %v, %v", got, ok)
	}
}

func TestIndexLayer(t *testing.T) {
	mtime := time.Unix(1700000000, 999)
	b := layerTar(t,
		tent{h: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime}},
		tent{h: tar.Header{Name: "./etc/", Typeflag: tar.TypeDir, Mode: 0o40750, Uid: 5, Gid: 6, ModTime: mtime}},
		tent{h: tar.Header{Name: "/etc/big", Typeflag: tar.TypeReg, Mode: 0o600, Size: 100000, ModTime: mtime,
			PAXRecords: map[string]string{"SCHILY.xattr.user.k": "v", "SCHILY.xattr.trusted.overlay.opaque": "y"}},
			body: strings.Repeat("z", 100000)},
		tent{h: tar.Header{Name: "etc/hard", Typeflag: tar.TypeLink, Linkname: "./etc/big", ModTime: mtime}},
		tent{h: tar.Header{Name: "etc/.wh.gone", Typeflag: tar.TypeReg, ModTime: mtime}},
		tent{h: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: mtime}},
		tent{h: tar.Header{Name: "lnk", Typeflag: tar.TypeSymlink, Linkname: "/etc/../x", ModTime: mtime}},
	)
	got, err := IndexLayer(t.Context(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	sec := mtime.Unix()
	want := []Entry{
		{Name: ".", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: sec},
		{Name: "etc", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 5, Gid: 6, ModTime: sec},
		{Name: "etc/big", Typeflag: tar.TypeReg, Mode: 0o600, Size: 100000, ModTime: sec, Xattrs: map[string]string{"user.k": "v"}},
		{Name: "etc/hard", Typeflag: tar.TypeLink, Linkname: "etc/big", ModTime: sec},
		{Name: "etc/.wh.gone", Typeflag: tar.TypeReg, ModTime: sec},
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: sec},
		{Name: "lnk", Typeflag: tar.TypeSymlink, Linkname: "/etc/../x", ModTime: sec},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("IndexLayer =\n%+v\nwant\n%+v", got, want)
	}
	v := NewIndexView([][]Entry{got}, nil)
	fi, err := v.Lstat("etc/hard")
	if err != nil || fi.Size() != 100000 || fi.Mode() != 0o600 {
		t.Errorf("Lstat(etc/hard) = %v, %v; want the target's metadata", fi, err)
	}
	if fi, err := v.Lstat("dev/null"); err != nil || fi.Mode().Type() != os.ModeDevice|os.ModeCharDevice {
		t.Errorf("Lstat(dev/null) = %v, %v", fi, err)
	}
}

func TestIndexLayerRefusesWhatApplyRefuses(t *testing.T) {
	for name, b := range map[string][]byte{
		"escape":          layerTar(t, tf("../x", "x")),
		"hard link out":   layerTar(t, thl("a", "../../etc/shadow")),
		"hard link dir":   layerTar(t, td("d/", 0o755, 0, 0), thl("a", "d")),
		"hard link none":  layerTar(t, thl("a", "b")),
		"through symlink": layerTar(t, tl("l", "/etc"), tf("l/passwd", "x")),
		"under a file":    layerTar(t, tf("f", "x"), tf("f/g", "y")),
		"bad whiteout":    layerTar(t, tf("d/.wh..", "")),
		"root as file":    layerTar(t, tf(".", "x")),
	} {
		if _, err := IndexLayer(t.Context(), bytes.NewReader(b)); err == nil {
			t.Errorf("%s: IndexLayer succeeded", name)
		}
		if os.Geteuid() == 0 {
			if _, err := archive.Apply(t.Context(), t.TempDir(), bytes.NewReader(b)); err == nil {
				t.Errorf("%s: Apply succeeded, so IndexLayer should too", name)
			}
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := IndexLayer(ctx, bytes.NewReader(layerTar(t, tf("a", "b")))); err != context.Canceled {
		t.Errorf("IndexLayer with a cancelled context = %v", err)
	}
}

// TestWriterIndexMatchesIndexLayer: the index recorded while writing a
// layer equals the one read back from the tar.
func TestWriterIndexMatchesIndexLayer(t *testing.T) {
	var buf bytes.Buffer
	var recorded []Entry
	var built IndexBuilder
	epoch := time.Unix(1500000000, 0)
	w := archive.NewWriter(&buf, archive.WriterOptions{
		Epoch: &epoch,
		Index: func(h *tar.Header) {
			recorded = append(recorded, EntryOf(h))
			built.Add(h)
		},
	})
	for _, e := range []tent{
		td("/app", 0o755, 1, 1),
		tf("./app/main", "package main"),
		thl("app/link", "/app/main"),
		tl("app/cur", "."),
		{h: tar.Header{Name: "app/data", Typeflag: tar.TypeDir, Mode: 0o700, Size: 99, ModTime: time.Now(), Uname: "u"}},
	} {
		if err := w.WriteHeader(&e.h); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	read, err := IndexLayer(t.Context(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recorded, read) {
		t.Errorf("recorded while writing:\n%+v\nread back:\n%+v", recorded, read)
	}
	if len(recorded) != 5 || recorded[4].Name != "app/data" || recorded[4].Size != 0 || recorded[4].ModTime != epoch.Unix() {
		t.Errorf("recorded %+v; want normalized headers (clean names, clamped mtime, no size on a directory)", recorded)
	}
	// Packed while writing, the index file is the one SaveIndex writes.
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveBuiltIndex(testDiffID("c"), &built); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveIndex(testDiffID("d"), read); err != nil {
		t.Fatal(err)
	}
	c, _ := os.ReadFile(filepath.Join(s.dir, "index", testDiffID("c").Hex+".idx"))
	d, _ := os.ReadFile(filepath.Join(s.dir, "index", testDiffID("d").Hex+".idx"))
	if len(c) == 0 || !bytes.Equal(c, d) {
		t.Errorf("built index file %q differs from the saved one %q", c, d)
	}
	if got, ok, err := s.LoadIndex(testDiffID("c")); err != nil || !ok || !reflect.DeepEqual(got, read) {
		t.Errorf("LoadIndex of the built index = %+v, %v, %v; want %+v", got, ok, err, read)
	}
}

// An index larger than one chunk of the builder reads back whole.
func TestIndexRoundTripLarge(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var entries []Entry
	for i := range 5000 {
		entries = append(entries, Entry{Name: fmt.Sprintf("dir/%0100d", i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(i), ModTime: int64(i)})
	}
	entries = append(entries, Entry{Name: strings.Repeat("n", indexChunk+1), Typeflag: tar.TypeDir, Mode: 0o755})
	if err := s.SaveIndex(testDiffID("e"), entries); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.LoadIndex(testDiffID("e"))
	if err != nil || !ok || !reflect.DeepEqual(got, entries) {
		t.Errorf("LoadIndex of %d entries = %d entries, %v, %v", len(entries), len(got), ok, err)
	}
}

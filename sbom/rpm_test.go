package sbom

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

const fedoraOSRelease = "NAME=\"Fedora Linux\"\nVERSION=\"39 (Container Image)\"\nID=fedora\nVERSION_ID=39\n"

func rpmFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRpm reads a database gen_rpmdb.py made with SQLite itself: 300
// headers, so the Packages table has interior pages and one header an
// overflow chain.
func TestRpm(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/os-release":                        {Data: []byte(fedoraOSRelease)},
		"usr/lib/sysimage/rpm/rpmdb.sqlite":     {Data: rpmFixture(t, "rpmdb.sqlite")},
		"var/lib/rpm":                           {Data: []byte("../../usr/lib/sysimage/rpm"), Mode: os.ModeSymlink},
		"usr/lib/sysimage/rpm/rpmdb.sqlite-shm": {Data: []byte("shared memory, never read")},
	}
	pkgs := scanFS(t, fsys)
	if len(pkgs) != 299 {
		t.Errorf("%d packages, want 299 (300 headers less gpg-pubkey)", len(pkgs))
	}
	want := []Package{
		{Name: "bash", Version: "5.2.26-1.fc39", Type: "rpm", Source: "/var/lib/rpm/rpmdb.sqlite",
			PURL:     "pkg:rpm/fedora/bash@5.2.26-1.fc39?arch=x86_64&distro=fedora-39&upstream=bash-5.2.26-1.fc39.src.rpm",
			Licenses: []string{"GPL-3.0-or-later"}, Supplier: "Fedora Project", Arch: "x86_64", SourcePackage: "bash-5.2.26-1.fc39.src.rpm"},
		{Name: "fedora-gpg-keys", Version: "39-1", Type: "rpm", Source: "/var/lib/rpm/rpmdb.sqlite",
			PURL:     "pkg:rpm/fedora/fedora-gpg-keys@39-1?arch=noarch&distro=fedora-39&upstream=fedora-repos-39-1.src.rpm",
			Licenses: []string{"MIT"}, Supplier: "Fedora Project", Arch: "noarch", SourcePackage: "fedora-repos-39-1.src.rpm"},
		{Name: "shadow-utils", Version: "2:4.14.0-2.fc39", Type: "rpm", Source: "/var/lib/rpm/rpmdb.sqlite",
			PURL:     "pkg:rpm/fedora/shadow-utils@4.14.0-2.fc39?arch=x86_64&distro=fedora-39&epoch=2&upstream=shadow-utils-4.14.0-2.fc39.src.rpm",
			Licenses: []string{"BSD-3-Clause AND GPL-2.0-or-later"}, Supplier: "Fedora Project", Arch: "x86_64", SourcePackage: "shadow-utils-4.14.0-2.fc39.src.rpm"},
	}
	got := slices.DeleteFunc(pkgs, func(p Package) bool { return strings.HasPrefix(p.Name, "pkg") })
	comparePackageLists(t, got, want)
}

// TestRpmWAL: a package committed to the write-ahead log and not yet
// checkpointed into the database file is listed, as rpm would list it.
func TestRpmWAL(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/os-release":               {Data: []byte(fedoraOSRelease)},
		"var/lib/rpm/rpmdb.sqlite":     {Data: rpmFixture(t, "rpmdb-wal/rpmdb.sqlite")},
		"var/lib/rpm/rpmdb.sqlite-wal": {Data: rpmFixture(t, "rpmdb-wal/rpmdb.sqlite-wal")},
	}
	pkgs := scanFS(t, fsys)
	if len(pkgs) != 300 || !slices.ContainsFunc(pkgs, func(p Package) bool { return p.Name == "curl" && p.Version == "8.2.1-4.fc39" }) {
		t.Errorf("%d packages, want 300 with curl 8.2.1-4.fc39 from the WAL", len(pkgs))
	}
	delete(fsys, "var/lib/rpm/rpmdb.sqlite-wal")
	if pkgs := scanFS(t, fsys); len(pkgs) != 299 {
		t.Errorf("without the WAL: %d packages, want 299", len(pkgs))
	}
}

func TestRpmUnsupported(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/os-release":       {Data: []byte("ID=centos\nVERSION_ID=7\n")},
		"var/lib/rpm/Packages": {Data: []byte("\x00\x06\x15\x61 BerkeleyDB hash")},
		"lib/apk/db/installed": {Data: []byte("P:busybox\nV:1.36.1-r15\nA:x86_64\n")},
	}
	pkgs, err := Scan(t.Context(), fsys)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "/var/lib/rpm/Packages") {
		t.Errorf("err = %v, want ErrUnsupported naming /var/lib/rpm/Packages", err)
	}
	if len(pkgs) != 1 || pkgs[0].Name != "busybox" {
		t.Errorf("packages %v, want the readable apk one", pkgs)
	}
}

func TestRpmCorrupt(t *testing.T) {
	db := rpmFixture(t, "rpmdb.sqlite")
	for name, b := range map[string][]byte{
		"truncated":  db[:6000],
		"not sqlite": []byte("SQLite format 2\x00 and some more bytes to fill a header of one hundred bytes ......................................"),
		"bad page":   slices.Concat(db[:4096], make([]byte, len(db)-4096)),
	} {
		fsys := fstest.MapFS{"var/lib/rpm/rpmdb.sqlite": {Data: b}}
		if _, err := Scan(t.Context(), fsys); err == nil || !strings.Contains(err.Error(), "/var/lib/rpm/rpmdb.sqlite") {
			t.Errorf("%s: err = %v, want an error naming the database", name, err)
		}
	}
}

func FuzzRPMHeader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 3, 232, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'b', 'a', 's', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		parseRPMHeader(b)
	})
}

func FuzzSQLite(f *testing.F) {
	db, err := os.ReadFile("testdata/rpmdb.sqlite")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(db[:8192])
	f.Fuzz(func(t *testing.T, b []byte) {
		fsys := fstest.MapFS{"var/lib/rpm/rpmdb.sqlite": {Data: b}}
		Scan(t.Context(), fsys)
	})
}

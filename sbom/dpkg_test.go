package sbom

import (
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/package-url/packageurl-go"
)

const debianOSRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
`

const dpkgStatusFixture = `Package: bash
Status: install ok installed
Priority: required
Maintainer: Matthias Klose <doko@debian.org>
Architecture: amd64
Source: bash (5.2.15-2)
Version: 5.2.15-2+b2
Description: GNU Bourne Again SHell
 Bash is an sh-compatible command language interpreter.
 .
 Source: not a field

Package: libc6
Status: install ok installed
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4

Package: base-files
Status: hold ok installed
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Version: 12.4+deb12u5

Package: removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: half
Status: install reinstreq half-installed
Architecture: amd64
Version: 2.0
`

const bashCopyright = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: bash

Files: *
Copyright: Free Software Foundation
License: GPL-3+
 This program is free software.

Files: lib/readline/*
License: GPL-3+ or Artistic
`

func TestDpkg(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/os-release":                     {Data: []byte(debianOSRelease)},
		"var/lib/dpkg/status":                {Data: []byte(dpkgStatusFixture)},
		"usr/share/doc/bash/copyright":       {Data: []byte(bashCopyright)},
		"usr/share/doc/libc6/copyright":      {Data: []byte("glibc is under the LGPL; see /usr/share/common-licenses/LGPL-2.1.\n")},
		"usr/share/doc/base-files/copyright": {Data: []byte("This is Debian's prepackaged version.\n")},
	}
	got := scanFS(t, fsys)
	want := []Package{
		{Name: "base-files", Version: "12.4+deb12u5", Type: "deb", Source: "/var/lib/dpkg/status",
			PURL:     "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12",
			Supplier: "Santiago Vila <sanvila@debian.org>", Arch: "amd64"},
		{Name: "bash", Version: "5.2.15-2+b2", Type: "deb", Source: "/var/lib/dpkg/status",
			PURL:     "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2",
			Licenses: []string{"GPL-3.0-or-later", "GPL-3.0-or-later OR Artistic-1.0"},
			Supplier: "Matthias Klose <doko@debian.org>", Arch: "amd64", SourcePackage: "bash"},
		{Name: "libc6", Version: "2.36-9+deb12u4", Type: "deb", Source: "/var/lib/dpkg/status",
			PURL:     "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc",
			Licenses: []string{"LGPL-2.1-only"},
			Supplier: "GNU Libc Maintainers <debian-glibc@lists.debian.org>", Arch: "amd64", SourcePackage: "glibc"},
	}
	comparePackageLists(t, got, want)
}

// TestDpkgDistroless: distroless images have no status file but one file
// per package in status.d, beside .md5sums files, and no Status field.
func TestDpkgDistroless(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/os-release": {Data: []byte(debianOSRelease)},
		"var/lib/dpkg/status.d/libssl3": {Data: []byte(
			"Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: arm64\nSource: openssl\nMaintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\n")},
		"var/lib/dpkg/status.d/libssl3.md5sums": {Data: []byte("0123 usr/lib/libssl.so.3\n")},
		"var/lib/dpkg/status.d/tzdata":          {Data: []byte("Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n")},
	}
	got := scanFS(t, fsys)
	want := []Package{
		{Name: "libssl3", Version: "3.0.11-1~deb12u2", Type: "deb", Source: "/var/lib/dpkg/status.d/libssl3",
			PURL:     "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64&distro=debian-12&upstream=openssl",
			Supplier: "Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>", Arch: "arm64", SourcePackage: "openssl"},
		{Name: "tzdata", Version: "2024a-0+deb12u1", Type: "deb", Source: "/var/lib/dpkg/status.d/tzdata",
			PURL: "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12", Arch: "all"},
	}
	comparePackageLists(t, got, want)
}

// TestDpkgHost reads this machine's own dpkg database, a real Debian one.
func TestDpkgHost(t *testing.T) {
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		t.Skip("no /var/lib/dpkg/status on this host")
	}
	b, err := os.ReadFile("/etc/os-release")
	if err != nil || !strings.Contains(string(b), "ID=debian") {
		t.Skip("the host is not Debian")
	}
	status, err := os.ReadFile("/var/lib/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"etc/os-release":      {Data: b},
		"var/lib/dpkg/status": {Data: status},
	}
	pkgs := scanFS(t, fsys)
	if len(pkgs) <= 50 {
		t.Fatalf("%d packages in the host's dpkg database, want more than 50", len(pkgs))
	}
	for _, p := range pkgs {
		u, err := packageurl.FromString(p.PURL)
		if err != nil || p.Type != "deb" || u.Type != "deb" || u.Namespace != "debian" || u.Name != p.Name || u.Version != p.Version ||
			!strings.HasPrefix(u.Qualifiers.Map()["distro"], "debian-") || !strings.HasPrefix(p.PURL, "pkg:deb/debian/") {
			t.Errorf("%s: type %s, purl %s (%v)", p.Name, p.Type, p.PURL, err)
		}
	}
	if !slices.ContainsFunc(pkgs, func(p Package) bool { return p.Name == "dpkg" }) {
		t.Error("dpkg itself is not listed")
	}
}

func TestSplitDpkgSource(t *testing.T) {
	for in, want := range map[string][2]string{
		"":                    {"", ""},
		"glibc":               {"glibc", ""},
		"gcc-12 (12.2.0-14)":  {"gcc-12", "12.2.0-14"},
		"bash  (5.2.15-2) ":   {"bash", "5.2.15-2"},
		"weird (unterminated": {"weird", ""},
	} {
		n, v := splitDpkgSource(in)
		if n != want[0] || v != want[1] {
			t.Errorf("splitDpkgSource(%q) = %q, %q; want %q, %q", in, n, v, want[0], want[1])
		}
	}
}

package sbom

import (
	"testing"
	"testing/fstest"
)

const apkInstalledFixture = `C:Q1eVpkZ0Nm0vQ0mWJYH5bJfGt9n1A=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1705593451
F:lib
R:libc.musl-x86_64.so.1

C:Q1lF9yK3gR9G6qO3Qm8mXbVf5zzkI=
P:libcrypto3
V:3.1.4-r5
A:x86_64
L:Apache-2.0
o:openssl
m:Ariadne Conill <ariadne@dereferenced.org>

P:incomplete
A:x86_64
`

func TestApk(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/os-release":        {Data: []byte("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n")},
		"lib/apk/db/installed":  {Data: []byte(apkInstalledFixture)},
		"lib/apk/db/lock":       {},
		"usr/lib/os-release.no": {},
	}
	want := []Package{
		{Name: "libcrypto3", Version: "3.1.4-r5", Type: "apk", Source: "/lib/apk/db/installed",
			PURL:     "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl",
			Licenses: []string{"Apache-2.0"}, Supplier: "Ariadne Conill <ariadne@dereferenced.org>", Arch: "x86_64", SourcePackage: "openssl"},
		{Name: "musl", Version: "1.2.4_git20230717-r4", Type: "apk", Source: "/lib/apk/db/installed",
			PURL:     "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1",
			Licenses: []string{"MIT"}, Supplier: "Timo Teräs <timo.teras@iki.fi>", Arch: "x86_64", SourcePackage: "musl"},
	}
	comparePackageLists(t, scanFS(t, fsys), want)
}

package sbom

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkSPDX writes the document of 1,000 packages, about a full
// Debian system's.
func BenchmarkSPDX(b *testing.B) {
	pkgs := make([]Package, 1000)
	for i := range pkgs {
		pkgs[i] = Package{
			Name: fmt.Sprintf("lib%d", i), Version: "1.2.3-4+b1", Type: "deb", Source: "/var/lib/dpkg/status",
			PURL:     fmt.Sprintf("pkg:deb/debian/lib%d@1.2.3-4%%2Bb1?arch=amd64&distro=debian-12", i),
			Licenses: []string{"GPL-2.0-or-later", "public-domain", "GPL-2.0-or-later OR Artistic-1.0"},
			Supplier: "Some One <someone@debian.org>", Arch: "amd64",
		}
	}
	for b.Loop() {
		if _, err := SPDX("bench", pkgs, time.Unix(0, 0)); err != nil {
			b.Fatal(err)
		}
	}
}

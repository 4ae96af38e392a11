package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
)

func spdxFixture(t *testing.T) []Package {
	pkgs := scanFS(t, fstest.MapFS{
		"etc/os-release":                {Data: []byte(debianOSRelease)},
		"var/lib/dpkg/status":           {Data: []byte(dpkgStatusFixture)},
		"usr/share/doc/bash/copyright":  {Data: []byte(bashCopyright)},
		"usr/share/doc/libc6/copyright": {Data: []byte("License: public-domain\nLicense: LGPL-2.1+\n")},
		"app/node_modules/x/package.json": {Data: []byte(
			`{"name": "x", "version": "1.0.0", "license": "SEE LICENSE IN LICENSE.md"}`)},
		"app/node_modules/@s/y/package.json": {Data: []byte(
			`{"name": "@s/y", "version": "2.0.0", "license": "(MIT OR Apache-2.0)"}`)},
		"app/node_modules/w/package.json": {Data: []byte(
			`{"name": "w", "version": "3.0.0", "license": "SEE LICENSE IN LICENSE_md"}`)},
		"app/node_modules/z/package.json": {Data: []byte(
			`{"name": "z", "version": "3.0.0", "license": "SEE LICENSE IN LICENSE md"}`)},
	})
	return append(pkgs, Package{Name: "stdlib", Version: "go1.26.8", Type: "golang", PURL: "pkg:golang/stdlib@1.26.8",
		Licenses: []string{"BSD-3-Clause"}, Source: "/usr/local/bin/app"})
}

func TestSPDX(t *testing.T) {
	pkgs := spdxFixture(t)
	created := time.Date(2024, 2, 1, 12, 30, 0, 0, time.FixedZone("CET", 3600))
	b, err := SPDX("example.com/app:1.0", pkgs, created)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := spdxjson.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("tools-golang cannot read the document back: %v\n%s", err, b)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.SPDXIdentifier != "DOCUMENT" || doc.DocumentName != "example.com/app:1.0" {
		t.Errorf("document %s %s %s %q", doc.SPDXVersion, doc.DataLicense, doc.SPDXIdentifier, doc.DocumentName)
	}
	if !strings.HasPrefix(doc.DocumentNamespace, "https://gorae.dev/spdx/") || len(doc.DocumentNamespace) != len("https://gorae.dev/spdx/")+64 {
		t.Errorf("namespace %s", doc.DocumentNamespace)
	}
	ci := doc.CreationInfo
	if ci.Created != "2024-02-01T11:30:00Z" || len(ci.Creators) != 1 || ci.Creators[0].CreatorType != "Tool" || ci.Creators[0].Creator != "gorae" {
		t.Errorf("creation info %+v", ci)
	}
	if len(doc.Packages) != len(pkgs)+1 {
		t.Fatalf("%d SPDX packages for %d packages and the image", len(doc.Packages), len(pkgs))
	}
	root := doc.Packages[0]
	if root.PackageName != "example.com/app:1.0" || root.PrimaryPackagePurpose != "CONTAINER" {
		t.Errorf("first package %q purpose %q, want the image", root.PackageName, root.PrimaryPackagePurpose)
	}
	purls := map[string]string{} // purl → SPDX id
	for _, p := range doc.Packages[1:] {
		if len(p.PackageExternalReferences) != 1 {
			t.Fatalf("%s has %d external refs", p.PackageName, len(p.PackageExternalReferences))
		}
		r := p.PackageExternalReferences[0]
		if r.Category != "PACKAGE-MANAGER" || r.RefType != "purl" {
			t.Errorf("%s: ref %s/%s", p.PackageName, r.Category, r.RefType)
		}
		purls[r.Locator] = string(p.PackageSPDXIdentifier)
	}
	for _, p := range pkgs {
		if purls[p.PURL] == "" {
			t.Errorf("no SPDX package with purl %s", p.PURL)
		}
	}
	rels := map[string]bool{}
	for _, r := range doc.Relationships {
		rels[string(r.RefA.ElementRefID)+" "+r.Relationship+" "+string(r.RefB.ElementRefID)] = true
	}
	if !rels["DOCUMENT DESCRIBES "+string(root.PackageSPDXIdentifier)] {
		t.Errorf("the document does not describe the image: %v", rels)
	}
	for purl, id := range purls {
		if !rels[string(root.PackageSPDXIdentifier)+" CONTAINS "+id] {
			t.Errorf("the image does not contain %s", purl)
		}
	}
	zSum := sha256.Sum256([]byte("SEE LICENSE IN LICENSE md"))
	zSuffix := hex.EncodeToString(zSum[:4])
	declared := map[string]string{}
	for _, p := range doc.Packages {
		declared[p.PackageName] = p.PackageLicenseDeclared
	}
	for name, want := range map[string]string{
		"bash":       "GPL-3.0-or-later AND (GPL-3.0-or-later OR Artistic-1.0)",
		"libc6":      "LGPL-2.1-or-later AND LicenseRef-public-domain",
		"x":          "LicenseRef-SEE-LICENSE-IN-LICENSE.md",
		"@s/y":       "(MIT OR Apache-2.0)",
		"stdlib":     "BSD-3-Clause",
		"base-files": "NOASSERTION",
	} {
		if declared[name] != want {
			t.Errorf("%s: licenseDeclared %q, want %q", name, declared[name], want)
		}
	}
	var refs []string
	for _, l := range doc.OtherLicenses {
		refs = append(refs, l.LicenseIdentifier+"="+l.ExtractedText)
	}
	want := []string{
		"LicenseRef-SEE-LICENSE-IN-LICENSE-md=SEE LICENSE IN LICENSE_md",
		"LicenseRef-SEE-LICENSE-IN-LICENSE-md-" + zSuffix + "=SEE LICENSE IN LICENSE md",
		"LicenseRef-SEE-LICENSE-IN-LICENSE.md=SEE LICENSE IN LICENSE.md",
		"LicenseRef-public-domain=public-domain",
	}
	if !slices.Equal(refs, want) {
		t.Errorf("extracted licenses %v, want %v", refs, want)
	}
	if !strings.Contains(string(b), `"supplier": "Person: Matthias Klose <doko@debian.org>"`) {
		t.Errorf("no unescaped Debian maintainer as supplier in\n%s", b)
	}
}

// TestSPDXDeterministic: same input, same bytes, whatever the order of
// the packages; another list, another namespace.
func TestSPDXDeterministic(t *testing.T) {
	pkgs := spdxFixture(t)
	created := time.Unix(1700000000, 0)
	a, err := SPDX("sha256:0123", pkgs, created)
	if err != nil {
		t.Fatal(err)
	}
	rev := slices.Clone(pkgs)
	slices.Reverse(rev)
	b, err := SPDX("sha256:0123", rev, created)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("two calls, two documents:\n%s\n%s", a, b)
	}
	c, err := SPDX("sha256:0123", pkgs[1:], created)
	if err != nil {
		t.Fatal(err)
	}
	if namespace(t, a) == namespace(t, c) {
		t.Error("two package lists share a document namespace")
	}
}

func namespace(t *testing.T, b []byte) string {
	doc, err := spdxjson.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc.DocumentNamespace
}

func TestSPDXEmpty(t *testing.T) {
	b, err := SPDX("scratch", nil, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := spdxjson.Read(bytes.NewReader(b))
	if err != nil || len(doc.Packages) != 1 || len(doc.Relationships) != 1 {
		t.Errorf("empty image: %v, %s", err, b)
	}
}

func TestLicenses(t *testing.T) {
	for in, want := range map[string]string{
		"GPL-2":                                "GPL-2.0-only",
		"GPL-2+":                               "GPL-2.0-or-later",
		"LGPL-2.1+":                            "LGPL-2.1-or-later",
		"GPL-3.0+":                             "GPL-3.0-or-later",
		"GPLv3+":                               "GPL-3.0-or-later",
		"BSD-3-clause":                         "BSD-3-Clause",
		"Expat":                                "MIT",
		"mit":                                  "MIT",
		"public-domain":                        "public-domain",
		"GPL-2+ or Artistic":                   "GPL-2.0-or-later OR Artistic-1.0",
		"(MIT or apache-2.0) and Zlib":         "(MIT OR Apache-2.0) AND Zlib",
		"GPL-2.0-only WITH Linux-syscall-note": "GPL-2.0-only WITH Linux-syscall-note",
	} {
		if got := normalizeLicense(in); got != want {
			t.Errorf("normalizeLicense(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{
		"MIT": true, "Apache-2.0+": true, "(MIT OR Apache-2.0) AND Zlib": true, "LicenseRef-foo": true,
		"GPL-2.0-only WITH Linux-syscall-note": true,
		"mit":                                  false, "MIT OR": false, "(MIT": false, "public-domain": false, "MIT WITH MIT": false, "": false,
	} {
		if got := validExpression(in); got != want {
			t.Errorf("validExpression(%q) = %v, want %v", in, got, want)
		}
	}
}

package sbom

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// NamespacePrefix starts every document namespace SPDX writes.
const NamespacePrefix = "https://gorae.dev/spdx/"

const noAssertion = "NOASSERTION"

// sourceKinds name each scanner's database in a package's sourceInfo, as
// syft words it.
var sourceKinds = map[string]string{
	"deb": "DPKG DB", "apk": "APK DB", "rpm": "RPM DB",
	"golang": "go module information", "pypi": "installed python package manifest file",
	"npm": "javascript npm package",
}

// SPDX returns the SPDX 2.3 JSON document for an image's packages, laid
// out as BuildKit's syft scanner writes it: the document DESCRIBES one
// package for the image (primaryPackagePurpose CONTAINER), which CONTAINS
// a package per Package, each with its purl as an external reference
// (PACKAGE-MANAGER, purl). name is the image's name (a -t name, or
// "sha256:…"); created is the document's creation time, the build's
// epoch. The same arguments give the same bytes, whatever the order of
// pkgs: the namespace is a digest of name and the packages.
func SPDX(name string, pkgs []Package, created time.Time) ([]byte, error) {
	pkgs = sortPackages(slices.Clone(pkgs))
	rootID := common.ElementID("DocumentRoot-Image-" + elementIDPart(name))
	doc := v2_3.Document{
		SPDXVersion:       v2_3.Version,
		DataLicense:       v2_3.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      name,
		DocumentNamespace: NamespacePrefix + namespaceDigest(name, pkgs),
		CreationInfo: &v2_3.CreationInfo{
			Creators: []common.Creator{{Creator: "gorae", CreatorType: "Tool"}},
			Created:  created.UTC().Format(time.RFC3339),
		},
		Packages: []*v2_3.Package{{
			PackageName:             name,
			PackageSPDXIdentifier:   rootID,
			PackageSupplier:         &common.Supplier{Supplier: noAssertion},
			PackageDownloadLocation: noAssertion,
			PackageLicenseConcluded: noAssertion,
			PackageLicenseDeclared:  noAssertion,
			PackageCopyrightText:    noAssertion,
			PrimaryPackagePurpose:   "CONTAINER",
		}},
		Relationships: []*v2_3.Relationship{{
			RefA:         common.MakeDocElementID("", "DOCUMENT"),
			RefB:         common.MakeDocElementID("", string(rootID)),
			Relationship: common.TypeRelationshipDescribe,
		}},
	}
	refs := map[string]string{} // LicenseRef- id → the text it stands for
	seen := map[common.ElementID]bool{}
	for _, p := range pkgs {
		id := packageID(p)
		if seen[id] {
			continue
		}
		seen[id] = true
		doc.Packages = append(doc.Packages, spdxPackage(p, id, refs))
		doc.Relationships = append(doc.Relationships, &v2_3.Relationship{
			RefA:         common.MakeDocElementID("", string(rootID)),
			RefB:         common.MakeDocElementID("", string(id)),
			Relationship: common.TypeRelationshipContains,
		})
	}
	for _, id := range slices.Sorted(maps.Keys(refs)) {
		doc.OtherLicenses = append(doc.OtherLicenses, &v2_3.OtherLicense{
			LicenseIdentifier: id, LicenseName: refs[id], ExtractedText: refs[id],
		})
	}
	var buf bytes.Buffer
	if err := spdxjson.Write(&doc, &buf, spdxjson.Indent(" "), spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("write SPDX document: %w", err)
	}
	return buf.Bytes(), nil
}

func spdxPackage(p Package, id common.ElementID, refs map[string]string) *v2_3.Package {
	sp := &v2_3.Package{
		PackageName:             p.Name,
		PackageSPDXIdentifier:   id,
		PackageVersion:          p.Version,
		PackageSupplier:         supplier(p),
		PackageDownloadLocation: noAssertion,
		PackageLicenseConcluded: noAssertion,
		PackageLicenseDeclared:  declaredLicense(p.Licenses, refs),
		PackageCopyrightText:    noAssertion,
		PackageSourceInfo:       "acquired package info from " + cmp.Or(sourceKinds[p.Type], p.Type) + ": " + p.Source,
	}
	if p.PURL != "" {
		sp.PackageExternalReferences = []*v2_3.PackageExternalReference{{
			Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: p.PURL,
		}}
	}
	return sp
}

// supplier: rpm's vendor is an organization, the other databases name
// people (a Debian or Alpine maintainer).
func supplier(p Package) *common.Supplier {
	s := strings.Join(strings.Fields(p.Supplier), " ")
	switch {
	case s == "":
		return &common.Supplier{Supplier: noAssertion}
	case p.Type == "rpm":
		return &common.Supplier{Supplier: s, SupplierType: "Organization"}
	}
	return &common.Supplier{Supplier: s, SupplierType: "Person"}
}

// declaredLicense joins a package's licenses with AND; one that is no
// valid SPDX expression becomes a LicenseRef- recorded in refs, so the
// document stays valid and the database's words are kept.
func declaredLicense(ls []string, refs map[string]string) string {
	var parts []string
	for _, l := range ls {
		switch {
		case validExpression(l) && len(ls) > 1 && strings.ContainsAny(l, " "):
			parts = append(parts, "("+l+")")
		case validExpression(l):
			parts = append(parts, l)
		default:
			ref := "LicenseRef-" + elementIDPart(l)
			if text, ok := refs[ref]; ok && text != l { // "GPL OR MIT" and "GPL-OR-MIT" need two ids
				sum := sha256.Sum256([]byte(l))
				ref += "-" + hex.EncodeToString(sum[:4])
			}
			refs[ref] = l
			parts = append(parts, ref)
		}
	}
	if len(parts) == 0 {
		return noAssertion
	}
	return strings.Join(parts, " AND ")
}

var notIDChar = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// elementIDPart makes s usable in an SPDX id: runs of other characters
// become "-".
func elementIDPart(s string) string {
	s = strings.Trim(notIDChar.ReplaceAllString(s, "-"), "-")
	if s == "" {
		return "unnamed"
	}
	return s
}

// packageID is syft's form, SPDXRef-Package-TYPE-NAME-HASH, the hash over
// every field that tells two packages apart.
func packageID(p Package) common.ElementID {
	sum := packageDigest(p)
	return common.ElementID(fmt.Sprintf("Package-%s-%s-%s", p.Type, elementIDPart(p.Name), hex.EncodeToString(sum[:8])))
}

func packageDigest(p Package) [32]byte {
	h := sha256.New()
	fields := []string{p.Type, p.Name, p.Version, p.Source, p.PURL, p.Arch, p.Supplier, p.SourcePackage}
	fields = append(fields, p.Licenses...)
	for _, f := range fields {
		binary.Write(h, binary.BigEndian, uint64(len(f)))
		h.Write([]byte(f))
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// namespaceDigest is the sha256 of the image name and its packages,
// length-prefixed so that no two lists share it.
func namespaceDigest(name string, pkgs []Package) string {
	h := sha256.New()
	binary.Write(h, binary.BigEndian, uint64(len(name)))
	h.Write([]byte(name))
	for _, p := range pkgs {
		sum := packageDigest(p)
		h.Write(sum[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

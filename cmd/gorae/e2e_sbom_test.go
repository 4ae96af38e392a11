package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/internal/testutil"
)

const sbomStatus = `Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>

Package: removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2
`

// TestSBOM: --sbom=true with provenance attaches an SPDX 2.3 statement
// before the provenance, listing the image's dpkg packages with their
// purls; gorae inspect --format '{{json .SBOM}}' shows it; the same build
// twice gives the same SPDX document.
func TestSBOM(t *testing.T) {
	g := newGorae(t)
	reg := testutil.NewMemRegistry(t, testutil.WithReferrers())
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY status /var/lib/dpkg/status\nCOPY os-release /etc/os-release\n",
		"status":     sbomStatus,
		"os-release": "ID=debian\nVERSION_ID=\"12\"\n",
	})
	ref := reg.Host + "/sb/app:1"
	g.Must(t, dir, "build", "-q", "--sbom=true", "--provenance=true", "-t", ref, "--push", ".")
	nref, _ := name.ParseReference(ref, name.Insecure)
	idx, err := remote.Index(nref)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 2 || !attest.IsAttestation(im.Manifests[1]) {
		t.Fatalf("index: %+v", im.Manifests)
	}
	att, err := idx.Image(im.Manifests[1].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := att.Manifest()
	if len(m.Layers) != 2 || m.Layers[0].Annotations[attest.AnnotationPredicateType] != attest.PredicateSPDX ||
		m.Layers[1].Annotations[attest.AnnotationPredicateType] != attest.PredicateSLSA1 {
		t.Fatalf("attestation layers: %+v", m.Layers)
	}
	r := g.Must(t, ".", "inspect", "--format", "{{json .SBOM}}", ref)
	var out struct {
		SPDX struct {
			SPDXVersion string `json:"spdxVersion"`
			Packages    []struct {
				Name         string `json:"name"`
				VersionInfo  string `json:"versionInfo"`
				ExternalRefs []struct {
					ReferenceType    string `json:"referenceType"`
					ReferenceLocator string `json:"referenceLocator"`
				} `json:"externalRefs"`
			} `json:"packages"`
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil || out.SPDX.SPDXVersion != "SPDX-2.3" {
		t.Fatalf("inspect --format '{{json .SBOM}}': %v\n%s", err, r.Stdout)
	}
	purls := map[string]string{}
	for _, p := range out.SPDX.Packages {
		for _, e := range p.ExternalRefs {
			if e.ReferenceType == "purl" {
				purls[p.Name] = e.ReferenceLocator
			}
		}
	}
	want := map[string]string{
		"bash":  "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12",
		"libc6": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc",
	}
	for n, p := range want {
		if purls[n] != p {
			t.Errorf("purl of %s = %q, want %q (all: %v)", n, purls[n], p, purls)
		}
	}
	if _, ok := purls["removed"]; ok {
		t.Error("a package that is not installed is listed")
	}
	// Deterministic: an unchanged rebuild attaches the same SPDX bytes.
	first, _ := m.Layers[0].Digest.MarshalText()
	g.Must(t, dir, "build", "-q", "--sbom=true", "-t", ref, "--push", ".")
	idx2, _ := remote.Index(nref)
	im2, _ := idx2.IndexManifest()
	att2, _ := idx2.Image(im2.Manifests[1].Digest)
	m2, _ := att2.Manifest()
	if again, _ := m2.Layers[0].Digest.MarshalText(); !strings.EqualFold(string(first), string(again)) {
		t.Errorf("the SPDX statement changed between two builds: %s, %s", first, again)
	}
}

// TestSBOMStagesAndContext: BUILDKIT_SBOM_SCAN_STAGE (a stage's ARG) and
// BUILDKIT_SBOM_SCAN_CONTEXT (a build arg) add SPDX documents of that
// stage and of the build context after the image's own, as BuildKit.
func TestSBOMStagesAndContext(t *testing.T) {
	g := newGorae(t)
	reg := testutil.NewMemRegistry(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox AS build\nARG BUILDKIT_SBOM_SCAN_STAGE=true\nCOPY status /var/lib/dpkg/status\nRUN echo built > /app\n" +
			"FROM busybox AS unscanned\nRUN echo x > /x\n" +
			"FROM busybox\nCOPY --from=build /app /app\nCOPY --from=unscanned /x /x\n",
		"status": sbomStatus,
		"package-lock.json": `{"name":"site","lockfileVersion":3,"packages":{"":{"name":"site"},` +
			`"node_modules/left-pad":{"version":"1.3.0"}}}`,
	})
	ref := reg.Host + "/sb/stages:1"
	g.Must(t, dir, "build", "-q", "--sbom=true", "--build-arg", "BUILDKIT_SBOM_SCAN_CONTEXT=true", "-t", ref, "--push", ".")
	r := g.Must(t, ".", "inspect", "--format", "{{json .SBOM}}", ref)
	var out struct {
		SPDX            map[string]any
		AdditionalSPDXs []struct {
			Name     string `json:"name"`
			Packages []struct {
				Name string `json:"name"`
			} `json:"packages"`
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil || out.SPDX == nil {
		t.Fatalf("inspect: %v\n%s", err, r.Stdout)
	}
	if len(out.AdditionalSPDXs) != 2 {
		t.Fatalf("additional SPDX documents: %d, want the build stage's and the context's\n%s", len(out.AdditionalSPDXs), r.Stdout)
	}
	names := func(i int) string {
		var s []string
		for _, p := range out.AdditionalSPDXs[i].Packages {
			s = append(s, p.Name)
		}
		return strings.Join(s, ",")
	}
	if d := out.AdditionalSPDXs[0]; d.Name != "build" || !strings.Contains(names(0), "bash") {
		t.Errorf("stage SBOM: %s: %s", d.Name, names(0))
	}
	if d := out.AdditionalSPDXs[1]; d.Name != "context" || !strings.Contains(names(1), "left-pad") {
		t.Errorf("context SBOM: %s: %s", d.Name, names(1))
	}
}

package attest

import (
	"reflect"
	"strings"
	"testing"
)

// TestParse: buildx's --attest, --provenance and --sbom syntax.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		attests          []string
		provenance, sbom string
		want             Config
	}{
		{nil, "", "", Config{}},
		{nil, "true", "", Config{Provenance: &ProvenanceConfig{Mode: "min"}}},
		{nil, "1", "false", Config{Provenance: &ProvenanceConfig{Mode: "min"}}},
		{nil, "false", "", Config{}},
		{nil, "mode=max", "", Config{Provenance: &ProvenanceConfig{Mode: "max"}}},
		{nil, "mode=max,builder-id=https://ci/1,version=v1,reproducible=true", "", Config{Provenance: &ProvenanceConfig{Mode: "max", BuilderID: "https://ci/1", Reproducible: true}}},
		{[]string{"type=provenance,mode=full"}, "", "", Config{Provenance: &ProvenanceConfig{Mode: "max"}}},
		{[]string{`type=provenance,"builder-id=https://ci/a,b"`}, "", "", Config{Provenance: &ProvenanceConfig{Mode: "min", BuilderID: "https://ci/a,b"}}},
		// The last of a type wins, the shorthands after --attest.
		{[]string{"type=provenance,mode=max", "type=provenance,mode=min"}, "", "", Config{Provenance: &ProvenanceConfig{Mode: "min"}}},
		{[]string{"type=provenance,mode=max"}, "false", "", Config{}},
		{[]string{"type=provenance,disabled=true"}, "", "", Config{}},
		{[]string{"type=sbom"}, "", "", Config{SBOM: &SBOMConfig{}}},
		{nil, "", "true", Config{SBOM: &SBOMConfig{}}},
		{[]string{"type=sbom,generator=docker/scout-sbom-indexer:1,x=y"}, "", "", Config{SBOM: &SBOMConfig{Generator: "docker/scout-sbom-indexer:1", Attrs: map[string]string{"x": "y"}}}},
	} {
		got, err := Parse(tc.attests, tc.provenance, tc.sbom)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q, %q, %q) = %+v, %v; want %+v", tc.attests, tc.provenance, tc.sbom, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		attests          []string
		provenance, sbom string
		want             string
	}{
		{[]string{"mode=max"}, "", "", `invalid --attest "mode=max": no type: add type=provenance or type=sbom`},
		{[]string{"type=vex"}, "", "", `invalid --attest "type=vex": unknown type "vex"`},
		{[]string{"type=provenance,mode"}, "", "", `"mode" is not KEY=VALUE`},
		{nil, "mode=medium", "", `invalid --provenance "mode=medium": mode=medium: use mode=min or mode=max`},
		{nil, "version=v0.2", "", "gorae writes SLSA provenance v1 only"},
		{nil, "filename=p.json", "", `unknown key "filename" for type=provenance`},
		{nil, "reproducible=maybe", "", "reproducible=maybe: use true or false"},
		{nil, "", "generator=", "generator= is empty"},
		{[]string{"type=sbom,disabled=perhaps"}, "", "", "disabled=perhaps: use true or false"},
	} {
		_, err := Parse(tc.attests, tc.provenance, tc.sbom)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q, %q, %q): %v, want %q", tc.attests, tc.provenance, tc.sbom, err, tc.want)
		}
	}
}

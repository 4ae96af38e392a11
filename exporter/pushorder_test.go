package exporter

import (
	"encoding/json"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/registry"
)

// TestRegistryPushAttestations: an index with attestation manifests is
// pushed images first, then the attestations (each followed, on a
// registry without the referrers API, by its sha256-HEX fallback tag;
// the attestations go concurrently),
// then the index.
func TestRegistryPushAttestations(t *testing.T) {
	host, puts := puttingRegistry(t)
	idx, imgs := randomIndex(t, types.OCIImageIndex)
	images := map[string]bool{}
	atts := map[string]string{} // attestation digest → its fallback tag
	for _, img := range imgs {
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		images[d.String()] = true
		raw, _ := img.RawManifest()
		desc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw))}
		st, _ := attest.NewStatement(attest.PredicateSLSA1, nil, json.RawMessage(`{}`))
		att, err := attest.NewManifest(desc, []attest.Statement{st})
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, attest.Addendum(att, d))
		ad, _ := att.Digest()
		atts[ad.String()] = "sha256-" + d.Hex
	}
	var events int
	r := Registry{Options: registry.Options{Keychain: authn.NewMultiKeychain()}, Progress: func(PushEvent) { events++ }}
	if err := r.ExportIndex(t.Context(), idx, []string{host + "/app:1"}); err != nil {
		t.Fatal(err)
	}
	got := puts()
	var order []string
	for _, p := range got {
		order = append(order, p.ref)
	}
	if len(got) != 7 || got[6].ref != "1" {
		t.Fatalf("manifest PUTs %v, want 2 images, 2 attestations and 2 fallback tags, then the index", order)
	}
	for i, p := range got[:2] {
		if !images[p.ref] {
			t.Errorf("PUT %d is %s, want an image first: %v", i, p.ref, order)
		}
	}
	pos := map[string]int{}
	for i, p := range got {
		pos[p.ref] = i
	}
	for a, tag := range atts {
		if i, ok := pos[a]; !ok || i < 2 || pos[tag] <= i {
			t.Errorf("attestation %s and its fallback tag %s: %v", a, tag, order)
		}
	}
	if events == 0 {
		t.Error("no progress events")
	}
}

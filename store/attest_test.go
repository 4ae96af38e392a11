package store

import (
	"encoding/json"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/attest"
)

// TestExportIndexAttestation: an index with an attestation manifest (an
// empty config, in-toto layers, platform unknown/unknown) is stored
// whole; its platform is only the image's, the name gives the image,
// and the attestation reads back by digest.
func TestExportIndexAttestation(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	img := platformImage(t, amd64)
	d, _ := img.Digest()
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	st, _ := attest.NewStatement(attest.PredicateSLSA1, nil, json.RawMessage(`{"k":"v"}`))
	att, err := attest.NewManifest(v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(raw))}, []attest.Statement{st})
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &amd64}}, attest.Addendum(att, d))
	if err := s.ExportIndex(ctx, idx, []string{"app"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || len(list[0].Platforms) != 1 || list[0].Platforms[0] != "linux/amd64" || len(list[0].Children) != 2 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if _, got, err := s.Image(ctx, "app"); err != nil || got != d {
		t.Errorf("Image(app) = %s, %v; want the image %s", got, err, d)
	}
	ad, _ := att.Digest()
	back, _, err := s.Image(ctx, ad.String())
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ := back.RawConfigFile(); string(cfg) != "{}" {
		t.Errorf("config %q", cfg)
	}
	got, err := attest.Read(back, func(string) bool { return true })
	if err != nil || len(got) != 1 || string(got[0].Predicate) != `{"k":"v"}` {
		t.Errorf("statements read back: %+v, %v", got, err)
	}
	ls, _ := back.Layers()
	rc, err := ls[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	want, _ := json.Marshal(st)
	if string(b) != string(want) {
		t.Errorf("layer %s, want %s", b, want)
	}
}

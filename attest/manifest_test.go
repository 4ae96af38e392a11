package attest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var testSubject = v1.Descriptor{
	MediaType: types.OCIManifestSchema1, Size: 1234,
	Digest: v1.Hash{Algorithm: "sha256", Hex: "23678f31b3b3586c4fb318aecfe64a96a1f0916ba8faf9b2be2abee63fa9e827"},
}

// TestStatementJSON: a statement is BuildKit's in-toto Statement v1:
// the fields in its order, compact, the predicate as given.
func TestStatementJSON(t *testing.T) {
	subjects := ImageSubjects([]string{"docker.io/library/app:1"}, v1.Platform{OS: "linux", Architecture: "amd64"}, testSubject.Digest)
	s, err := NewStatement(PredicateSPDX, subjects, json.RawMessage(`{"spdxVersion": "SPDX-2.3"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	want := `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://spdx.dev/Document",` +
		`"subject":[{"name":"pkg:docker/app@1?platform=linux%2Famd64","digest":{"sha256":"` + testSubject.Digest.Hex + `"}}],` +
		`"predicate":{"spdxVersion":"SPDX-2.3"}}`
	if string(b) != want {
		t.Errorf("statement:\n%s\nwant\n%s", b, want)
	}
	if s := ImageSubjects(nil, v1.Platform{}, testSubject.Digest); len(s) != 1 || s[0].Name != "_" {
		t.Errorf("subjects of an unnamed image: %+v", s)
	}
	if _, err := NewStatement(PredicateSPDX, nil, json.RawMessage(`{`)); err == nil {
		t.Error("a predicate that is not JSON: no error")
	}
}

// TestNewManifest: the attestation manifest is byte for byte the layout
// of BuildKit's (docs/attestations/attestation-storage.md), its
// statements are its layers, and in an index it has BuildKit's
// descriptor.
func TestNewManifest(t *testing.T) {
	st, _ := NewStatement(PredicateSLSA1, nil, map[string]string{"k": "v"})
	img, err := NewManifest(testSubject, []Statement{st})
	if err != nil {
		t.Fatal(err)
	}
	stBytes, _ := json.Marshal(st)
	stDigest, _, _ := v1.SHA256(bytes.NewReader(stBytes))
	raw, _ := img.RawManifest()
	want := fmt.Sprintf(`{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "artifactType": "application/vnd.docker.attestation.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "size": 2,
    "data": "e30="
  },
  "layers": [
    {
      "mediaType": "application/vnd.in-toto+json",
      "digest": "%s",
      "size": %d,
      "annotations": {
        "in-toto.io/predicate-type": "https://slsa.dev/provenance/v1"
      }
    }
  ],
  "subject": {
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:23678f31b3b3586c4fb318aecfe64a96a1f0916ba8faf9b2be2abee63fa9e827",
    "size": 1234
  }
}`, stDigest, len(stBytes))
	if string(raw) != want {
		t.Errorf("manifest:\n%s\nwant\n%s", raw, want)
	}
	cfg, _ := img.RawConfigFile()
	if string(cfg) != "{}" {
		t.Errorf("config %q", cfg)
	}
	ls, _ := img.Layers()
	if len(ls) != 1 {
		t.Fatalf("%d layers", len(ls))
	}
	rc, _ := ls[0].Compressed()
	b, _ := io.ReadAll(rc)
	if !bytes.Equal(b, stBytes) {
		t.Errorf("layer %s, want %s", b, stBytes)
	}
	got, err := Read(img, func(p string) bool { return p == PredicateSLSA1 })
	if err != nil || len(got) != 1 || string(got[0].Predicate) != `{"k":"v"}` {
		t.Errorf("Read: %+v, %v", got, err)
	}
	if got, _ := Read(img, func(p string) bool { return p == PredicateSPDX }); len(got) != 0 {
		t.Errorf("Read of another predicate type: %+v", got)
	}
	if _, err := NewManifest(testSubject, nil); err == nil {
		t.Error("a manifest of no statements: no error")
	}

	idx := mutate.AppendManifests(empty.Index, Addendum(img, testSubject.Digest))
	im, _ := idx.IndexManifest()
	d := im.Manifests[0]
	if d.Platform == nil || d.Platform.String() != "unknown/unknown" || d.ArtifactType != "" || d.MediaType != types.OCIManifestSchema1 ||
		d.Annotations[AnnotationReferenceType] != ReferenceType || d.Annotations[AnnotationReferenceDigest] != testSubject.Digest.String() ||
		!IsAttestation(d) || !References(d) {
		t.Errorf("index descriptor: %+v", d)
	}
	if a := Attached(im); len(a[testSubject.Digest]) != 1 {
		t.Errorf("Attached: %v", a)
	}
}

// TestProvenanceJSON: every field of a provenance is written under
// BuildKit's name, in the order of BuildKit's types (embedded SLSA
// fields first, as encoding/json orders them), and the empty ones are
// left out as BuildKit leaves them out.
func TestProvenanceJSON(t *testing.T) {
	now := testTime
	full := Provenance{
		BuildDefinition: BuildDefinition{
			BuildType:            BuildType,
			ResolvedDependencies: []ResourceDescriptor{{URI: "u", Digest: map[string]string{"sha256": "x"}}},
			ExternalParameters: ExternalParameters{
				ConfigSource: ConfigSource{URI: "u", Digest: map[string]string{"sha1": "c"}, Path: "Dockerfile"},
				Request: Request{Frontend: Frontend, Args: map[string]string{"a": "b"}, Secrets: []Secret{{ID: "s", Optional: true}},
					SSH: []Secret{{ID: "default"}}, Locals: []Local{{Name: "context"}}},
			},
			InternalParameters: InternalParameters{BuildConfig: &BuildConfig{Steps: []Step{{ID: "step0", Op: "run", Name: "n",
				Inputs: []string{"i"}, Command: []string{"c"}, Source: "s", Digest: "d", Layer: &Descriptor{MediaType: "m", Digest: "d", Size: 1}}},
				DigestMapping: map[string]string{"d": "step0"}},
				BuilderPlatform: "linux/amd64", DockerfileVersion: "v", TargetPlatform: "linux/arm64"},
		},
		RunDetails: RunDetails{
			Builder:    Builder{ID: "b", Version: map[string]string{"gorae": "1"}},
			Byproducts: []ResourceDescriptor{{URI: "x"}},
			Metadata: &Metadata{InvocationID: "i", StartedOn: &now, FinishedOn: &now,
				BuildKitMetadata: BuildKitMetadata{VCS: map[string]string{"source": "s"},
					Source: &Source{Locations: map[string]Locations{"step0": {Locations: []Location{{SourceIndex: 1,
						Ranges: []Range{{Start: Position{Line: 1, Character: 2}, End: Position{Line: 3}}}}}}},
						Infos: []SourceInfo{{Filename: "Dockerfile", Language: "Dockerfile", Data: []byte("FROM x")}}},
					Layers: map[string][][]Descriptor{"step0:0": {{{MediaType: "m", Digest: "d", Size: 1}}}}},
				Hermetic: true, Completeness: Completeness{Request: true, ResolvedDependencies: true}, Reproducible: true},
		},
	}
	want := []string{
		"buildDefinition", "buildDefinition.buildType", "buildDefinition.resolvedDependencies", "buildDefinition.resolvedDependencies.uri",
		"buildDefinition.resolvedDependencies.digest", "buildDefinition.externalParameters", "buildDefinition.externalParameters.configSource",
		"buildDefinition.externalParameters.configSource.uri", "buildDefinition.externalParameters.configSource.digest",
		"buildDefinition.externalParameters.configSource.path", "buildDefinition.externalParameters.request",
		"buildDefinition.externalParameters.request.frontend", "buildDefinition.externalParameters.request.args",
		"buildDefinition.externalParameters.request.secrets", "buildDefinition.externalParameters.request.secrets.id",
		"buildDefinition.externalParameters.request.secrets.optional", "buildDefinition.externalParameters.request.ssh",
		"buildDefinition.externalParameters.request.ssh.id", "buildDefinition.externalParameters.request.locals",
		"buildDefinition.externalParameters.request.locals.name", "buildDefinition.internalParameters",
		"buildDefinition.internalParameters.buildConfig", "buildDefinition.internalParameters.buildConfig.steps",
		"buildDefinition.internalParameters.buildConfig.steps.id", "buildDefinition.internalParameters.buildConfig.steps.op",
		"buildDefinition.internalParameters.buildConfig.steps.name", "buildDefinition.internalParameters.buildConfig.steps.inputs",
		"buildDefinition.internalParameters.buildConfig.steps.command", "buildDefinition.internalParameters.buildConfig.steps.source",
		"buildDefinition.internalParameters.buildConfig.steps.digest", "buildDefinition.internalParameters.buildConfig.steps.layer",
		"buildDefinition.internalParameters.buildConfig.steps.layer.mediaType", "buildDefinition.internalParameters.buildConfig.steps.layer.digest",
		"buildDefinition.internalParameters.buildConfig.steps.layer.size", "buildDefinition.internalParameters.buildConfig.digestMapping",
		"buildDefinition.internalParameters.builderPlatform", "buildDefinition.internalParameters.dockerfileVersion",
		"buildDefinition.internalParameters.targetPlatform",
		"runDetails", "runDetails.builder", "runDetails.builder.id", "runDetails.builder.version", "runDetails.byproducts",
		"runDetails.byproducts.uri", "runDetails.metadata", "runDetails.metadata.invocationId", "runDetails.metadata.startedOn",
		"runDetails.metadata.finishedOn", "runDetails.metadata.buildkit_metadata", "runDetails.metadata.buildkit_metadata.vcs",
		"runDetails.metadata.buildkit_metadata.source", "runDetails.metadata.buildkit_metadata.source.locations",
		"runDetails.metadata.buildkit_metadata.source.infos", "runDetails.metadata.buildkit_metadata.source.infos.filename",
		"runDetails.metadata.buildkit_metadata.source.infos.language", "runDetails.metadata.buildkit_metadata.source.infos.data",
		"runDetails.metadata.buildkit_metadata.layers", "runDetails.metadata.buildkit_hermetic", "runDetails.metadata.buildkit_completeness",
		"runDetails.metadata.buildkit_completeness.request", "runDetails.metadata.buildkit_completeness.resolvedDependencies",
		"runDetails.metadata.buildkit_reproducible",
	}
	checkKeys(t, full, want)

	// What BuildKit always writes, however empty.
	checkKeys(t, Provenance{RunDetails: RunDetails{Metadata: &Metadata{}}}, []string{
		"buildDefinition", "buildDefinition.buildType", "buildDefinition.externalParameters",
		"buildDefinition.externalParameters.configSource", "buildDefinition.externalParameters.request",
		"buildDefinition.internalParameters", "buildDefinition.internalParameters.builderPlatform",
		"runDetails", "runDetails.builder", "runDetails.builder.id", "runDetails.metadata", "runDetails.metadata.buildkit_metadata",
		"runDetails.metadata.buildkit_completeness", "runDetails.metadata.buildkit_completeness.request",
		"runDetails.metadata.buildkit_completeness.resolvedDependencies",
	})
	// A location is pb.Locations as encoding/json writes it.
	b, _ := json.Marshal(full.RunDetails.Metadata.BuildKitMetadata.Source.Locations)
	if want := `{"step0":{"locations":[{"sourceIndex":1,"ranges":[{"start":{"line":1,"character":2},"end":{"line":3}}]}]}}`; string(b) != want {
		t.Errorf("locations %s, want %s", b, want)
	}
}

// checkKeys compares the object keys of v's JSON, in order and as dotted
// paths, with want; the keys of maps (args, digests, mappings, …) are
// data, not fields, and are not listed.
func checkKeys(t *testing.T, v any, want []string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	dec := json.NewDecoder(bytes.NewReader(b))
	var walk func(prefix string, data bool)
	walk = func(prefix string, data bool) {
		tok, _ := dec.Token()
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, _ := dec.Token()
				p := k.(string)
				if prefix != "" {
					p = prefix + "." + p
				}
				if !data {
					got = append(got, p)
				}
				walk(p, data || mapKeys[p])
			}
			dec.Token()
		case json.Delim('['):
			for dec.More() {
				walk(prefix, data)
			}
			dec.Token()
		}
	}
	walk("", false)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("keys:\n%q\nwant\n%q", got, want)
	}
}

// mapKeys are the paths whose keys are data.
var mapKeys = map[string]bool{}

func init() {
	for _, p := range []string{
		"buildDefinition.resolvedDependencies.digest", "buildDefinition.externalParameters.configSource.digest",
		"buildDefinition.externalParameters.request.args", "buildDefinition.internalParameters.buildConfig.digestMapping",
		"runDetails.builder.version", "runDetails.metadata.buildkit_metadata.vcs", "runDetails.metadata.buildkit_metadata.source.locations",
		"runDetails.metadata.buildkit_metadata.layers",
	} {
		mapKeys[p] = true
	}
}

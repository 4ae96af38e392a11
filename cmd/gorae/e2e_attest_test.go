package main

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/internal/testutil"
)

const attestDockerfile = `FROM busybox
ARG FOO
ADD URL /data.txt
RUN --mount=type=secret,id=s wc -c < /run/secrets/s > /n
COPY a.txt /a.txt
`

// TestAttestPush builds with provenance and pushes, to a registry with
// the OCI referrers API and to one without: the index lists the image,
// then its attestation manifest (unknown/unknown, the reference
// annotations); that manifest has the empty config, the attestation
// artifact type and the image as subject, and one layer, the provenance
// statement; the registry got the image, the attestation, then the
// index (and, without the referrers API, the sha256-HEX fallback tag
// before the index); referrers are found either way; mode=min and
// mode=max hold BuildKit's field sets; no blob anywhere holds the
// secret; gorae inspect --format shows the provenance from the store and
// from the registry.
func TestAttestPush(t *testing.T) {
	for _, tc := range []struct {
		name      string
		referrers bool
		mode      string
	}{{"referrers-api-min", true, "min"}, {"fallback-tag-max", false, "max"}} {
		t.Run(tc.name, func(t *testing.T) { testAttestPush(t, tc.referrers, tc.mode) })
	}
}

func testAttestPush(t *testing.T, referrers bool, mode string) {
	g := newGorae(t)
	var opts []testutil.MemOption
	if referrers {
		opts = append(opts, testutil.WithReferrers())
	}
	reg := testutil.NewMemRegistry(t, opts...)
	data := "downloaded\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, data) }))
	defer srv.Close()
	secret := rand.Text()
	dir := t.TempDir()
	dockerfile := strings.Replace(attestDockerfile, "URL", srv.URL+"/data.txt", 1)
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": dockerfile, "a.txt": "a\n"})
	secretFile := filepath.Join(t.TempDir(), "s")
	os.WriteFile(secretFile, []byte(secret), 0o600)
	ref := reg.Host + "/att/app:1"
	g.Must(t, dir, "build", "-q", "--provenance=mode="+mode, "--secret", "id=s,src="+secretFile,
		"--build-arg", "FOO="+secret[:8], "--label", "l=v", "-t", ref, "--push", ".")

	nref, _ := name.ParseReference(ref, name.Insecure)
	idx, err := remote.Index(nref)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if im.MediaType != types.OCIImageIndex || len(im.Manifests) != 2 {
		t.Fatalf("index: %+v", im)
	}
	imgDesc, attDesc := im.Manifests[0], im.Manifests[1]
	if imgDesc.Platform == nil || imgDesc.Platform.OS != "linux" || attest.IsAttestation(imgDesc) {
		t.Errorf("first entry is not the image: %+v", imgDesc)
	}
	if p := attDesc.Platform; p == nil || p.OS != "unknown" || p.Architecture != "unknown" ||
		attDesc.Annotations["vnd.docker.reference.type"] != "attestation-manifest" ||
		attDesc.Annotations["vnd.docker.reference.digest"] != imgDesc.Digest.String() || attDesc.ArtifactType != "" {
		t.Errorf("attestation entry: %+v", attDesc)
	}
	att, err := idx.Image(attDesc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := att.Manifest()
	if m.ArtifactType != attest.ArtifactType || m.Config.MediaType != types.OCIEmptyJSON || m.Config.Size != 2 ||
		m.Config.Digest.Hex != "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" ||
		m.Subject == nil || m.Subject.Digest != imgDesc.Digest || m.Subject.Size != imgDesc.Size || m.Subject.MediaType != imgDesc.MediaType {
		t.Errorf("attestation manifest: %+v", m)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != attest.MediaType || m.Layers[0].Annotations[attest.AnnotationPredicateType] != attest.PredicateSLSA1 {
		t.Fatalf("attestation layers: %+v", m.Layers)
	}
	stmts, err := attest.Read(att, func(string) bool { return true })
	if err != nil || len(stmts) != 1 {
		t.Fatalf("statements: %v %v", stmts, err)
	}
	st := stmts[0]
	wantSubject := fmt.Sprintf("pkg:docker/%s/att/app@1?platform=linux%%2F%s", reg.Host, imgDesc.Platform.Architecture)
	if st.Type != attest.StatementType || st.PredicateType != attest.PredicateSLSA1 || len(st.Subject) != 1 ||
		st.Subject[0].Name != wantSubject || st.Subject[0].Digest["sha256"] != imgDesc.Digest.Hex {
		t.Errorf("statement header: %s %s %+v, want subject %s", st.Type, st.PredicateType, st.Subject, wantSubject)
	}
	checkProvenance(t, st.Predicate, mode, dockerfile, srv.URL+"/data.txt", data, secret[:8])

	// Pushed in order: the image, its attestation (and the fallback tag
	// without the referrers API), then the index.
	puts := reg.ManifestPuts()
	fallback := "att/app:sha256-" + imgDesc.Digest.Hex
	want := []string{"att/app:" + imgDesc.Digest.String(), "att/app:" + attDesc.Digest.String()}
	if !referrers {
		want = append(want, fallback)
	}
	want = append(want, "att/app:1")
	if !slices.Equal(puts, want) {
		t.Errorf("manifest PUTs:\n%s\nwant:\n%s", strings.Join(puts, "\n"), strings.Join(want, "\n"))
	}
	rs, err := remote.Referrers(nref.Context().Digest(imgDesc.Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	rm, _ := rs.IndexManifest()
	// ggcr's registry answers the referrers API with the config's media
	// type as artifactType, not the manifest's (which the fallback tag
	// has, as the OCI distribution spec says).
	wantType := attest.ArtifactType
	if referrers {
		wantType = string(types.OCIEmptyJSON)
	}
	if len(rm.Manifests) != 1 || rm.Manifests[0].Digest != attDesc.Digest || rm.Manifests[0].ArtifactType != wantType {
		t.Errorf("referrers of the image: %+v", rm.Manifests)
	}

	assertRegistryAbsent(t, nref.Context(), append([]string{fallback[len("att/app:"):]}, "1"), secret)
	assertAbsent(t, "the root", g.Root, secret)

	// gorae inspect --format: from the store, then from the registry.
	for _, root := range []string{g.Root, t.TempDir()} {
		g2 := &testutil.Gorae{Bin: goraeBin, Root: root}
		r := g2.Must(t, ".", "inspect", "--format", "{{json .Provenance}}", ref)
		var p struct{ SLSA map[string]any }
		if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil || p.SLSA["buildDefinition"] == nil {
			t.Errorf("inspect --format '{{json .Provenance}}': %v\n%s", err, r.Stdout)
		}
		r = g2.Must(t, ".", "inspect", "--format", "{{.Name}} {{.Manifest.Digest}} {{.Image.OS}} {{json .SBOM}}", ref)
		if d, _ := idx.Digest(); r.Stdout != fmt.Sprintf("%s %s linux {}\n", ref, d) {
			t.Errorf("inspect --format: %q", r.Stdout)
		}
	}
}

// checkProvenance checks a provenance predicate of a build of
// attestDockerfile: what both modes hold, and what only max holds.
func checkProvenance(t *testing.T, raw json.RawMessage, mode, dockerfile, url, data, arg string) {
	t.Helper()
	var p attest.Provenance
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	bd, md := p.BuildDefinition, p.RunDetails.Metadata
	sum := sha256.Sum256([]byte(data))
	deps := bd.ResolvedDependencies
	if bd.BuildType != attest.BuildType || len(deps) != 2 ||
		!strings.HasPrefix(deps[0].URI, "pkg:docker/busybox@latest?platform=linux%2F") || len(deps[0].Digest["sha256"]) != 64 ||
		deps[1].URI != url || deps[1].Digest["sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("build type %s, resolved dependencies %+v", bd.BuildType, deps)
	}
	req := bd.ExternalParameters.Request
	if bd.ExternalParameters.ConfigSource.Path != "Dockerfile" || req.Frontend != "dockerfile.v0" ||
		!slices.Equal(req.Locals, []attest.Local{{Name: "context"}, {Name: "dockerfile"}}) {
		t.Errorf("external parameters: %+v", bd.ExternalParameters)
	}
	if md == nil || md.InvocationID == "" || md.StartedOn == nil || md.FinishedOn == nil || md.FinishedOn.Before(*md.StartedOn) ||
		md.Completeness.ResolvedDependencies || md.Hermetic || bd.InternalParameters.BuilderPlatform == "" || bd.InternalParameters.TargetPlatform == "" {
		t.Fatalf("metadata: %+v, internal parameters %+v", md, bd.InternalParameters)
	}
	if mode == "min" {
		if req.Args != nil || req.Secrets != nil || md.Completeness.Request || bd.InternalParameters.BuildConfig != nil ||
			md.BuildKitMetadata.Source != nil || md.BuildKitMetadata.Layers != nil {
			t.Errorf("mode=min holds max's fields: %s", raw)
		}
		return
	}
	if req.Args["build-arg:FOO"] != arg || req.Args["label:l"] != "v" || !md.Completeness.Request ||
		!slices.Equal(req.Secrets, []attest.Secret{{ID: "s", Optional: true}}) {
		t.Errorf("mode=max request: %+v, completeness %+v", req, md.Completeness)
	}
	bc := bd.InternalParameters.BuildConfig
	if bc == nil || len(bc.Steps) != 6 || len(bc.DigestMapping) != 6 {
		t.Fatalf("mode=max build config: %+v", bc)
	}
	var ops []string
	layers := 0
	for _, s := range bc.Steps {
		ops = append(ops, s.Op)
		if s.Layer != nil {
			layers++
		}
	}
	// FROM, ADD's download, ADD, RUN, the context, COPY.
	if !slices.Equal(ops, []string{"image", "http", "copy", "run", "context", "copy"}) || layers != 3 ||
		!slices.Equal(bc.Steps[3].Command, []string{"/bin/sh", "-c", "wc -c < /run/secrets/s > /n"}) {
		t.Errorf("mode=max steps: %+v", bc.Steps)
	}
	src := md.BuildKitMetadata.Source
	if src == nil || len(src.Infos) != 1 || string(src.Infos[0].Data) != dockerfile || src.Locations["step3"].Locations[0].Ranges[0].Start.Line != 4 ||
		len(md.BuildKitMetadata.Layers["step5:0"]) != 1 || len(md.BuildKitMetadata.Layers["step5:0"][0]) != 4 {
		t.Errorf("mode=max buildkit_metadata: %+v", md.BuildKitMetadata)
	}
}

// assertRegistryAbsent fails when a blob of the images tagged tags in
// repo (manifests, configs, layers compressed and not) holds value.
func assertRegistryAbsent(t *testing.T, repo name.Repository, tags []string, value string) {
	t.Helper()
	seen := map[v1.Hash]bool{}
	check := func(what string, b []byte) {
		if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
				if u, err := io.ReadAll(zr); err == nil {
					b = u
				}
			}
		}
		if bytes.Contains(b, []byte(value)) {
			t.Errorf("registry: %s holds the secret value", what)
		}
	}
	var image func(img v1.Image)
	image = func(img v1.Image) {
		raw, _ := img.RawManifest()
		check("a manifest", raw)
		cfg, _ := img.RawConfigFile()
		check("a config", cfg)
		ls, _ := img.Layers()
		for _, l := range ls {
			d, _ := l.Digest()
			if seen[d] {
				continue
			}
			seen[d] = true
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			check("layer "+d.String(), b)
		}
	}
	n := 0
	for _, tag := range tags {
		idx, err := remote.Index(repo.Tag(tag))
		if err != nil {
			continue // the fallback tag, with the referrers API
		}
		raw, _ := idx.RawManifest()
		check("index "+tag, raw)
		im, _ := idx.IndexManifest()
		for _, d := range im.Manifests {
			img, err := remote.Image(repo.Digest(d.Digest.String()))
			if err != nil {
				t.Fatal(err)
			}
			image(img)
			n++
		}
	}
	if n < 2 {
		t.Errorf("checked %d manifests for the secret", n)
	}
}

// TestAttestMultiPlatform: a two-platform build with --attest gives each
// image an attestation manifest of its own, after the images; outputs
// that hold files skip them, the layout keeps them; gorae images and
// inspect show no unknown/unknown platform, and inspect --format maps
// provenance by platform; --verify-reproducible passes. Without the
// flags there is no attestation, and with Docker media types the flags
// are a usage error.
func TestAttestMultiPlatform(t *testing.T) {
	g := newGorae(t)
	reg := testutil.NewMemRegistry(t)
	base := reg.Host + "/base/busybox:multi"
	testutil.PushBusyboxIndex(t, base, false)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM " + base + "\nCOPY a.txt /a.txt\n", "a.txt": "a\n"})
	out := t.TempDir()
	ref := reg.Host + "/att/multi:1"
	g.Must(t, dir, "build", "-q", "--platform", "linux/amd64,linux/arm64", "--attest", "type=provenance,mode=max,builder-id=https://ci.example/run/7",
		"-t", ref, "--push", "--output", "type=local,dest="+filepath.Join(out, "local"), "--output", "type=oci,tar=false,dest="+filepath.Join(out, "oci"), ".")

	nref, _ := name.ParseReference(ref, name.Insecure)
	idx, err := remote.Index(nref)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 4 {
		t.Fatalf("index has %d entries, want 4: %+v", len(im.Manifests), im.Manifests)
	}
	ids := map[string]bool{}
	for i, arch := range []string{"amd64", "arm64"} {
		img, att := im.Manifests[i], im.Manifests[i+2]
		if img.Platform.String() != "linux/"+arch || att.Platform.String() != "unknown/unknown" ||
			att.Annotations["vnd.docker.reference.digest"] != img.Digest.String() {
			t.Errorf("%s: image entry %+v, attestation entry %+v", arch, img, att)
		}
		ai, err := idx.Image(att.Digest)
		if err != nil {
			t.Fatal(err)
		}
		st, err := attest.Read(ai, func(string) bool { return true })
		if err != nil || len(st) != 1 {
			t.Fatalf("%s statements: %v %v", arch, st, err)
		}
		var p attest.Provenance
		json.Unmarshal(st[0].Predicate, &p)
		deps := p.BuildDefinition.ResolvedDependencies
		if p.BuildDefinition.InternalParameters.TargetPlatform != "linux/"+arch || p.RunDetails.Builder.ID != "https://ci.example/run/7" ||
			len(deps) != 1 || deps[0].URI != fmt.Sprintf("pkg:docker/%s/base/busybox@multi?platform=linux%%2F%s", reg.Host, arch) {
			t.Errorf("%s provenance: target %s, builder %+v, dependencies %+v", arch, p.BuildDefinition.InternalParameters.TargetPlatform, p.RunDetails.Builder, deps)
		}
		ids[p.RunDetails.Metadata.InvocationID] = true
	}
	if len(ids) != 1 {
		t.Errorf("invocation ids %v: want one for the build", ids)
	}
	if ents, _ := os.ReadDir(filepath.Join(out, "local")); len(ents) != 2 || ents[0].Name() != "linux_amd64" || ents[1].Name() != "linux_arm64" {
		t.Errorf("type=local wrote %v", ents)
	}
	var layout v1.IndexManifest
	b, _ := os.ReadFile(filepath.Join(out, "oci", "index.json"))
	json.Unmarshal(b, &layout)
	d, _ := idx.Digest()
	if len(layout.Manifests) != 1 || layout.Manifests[0].Digest != d {
		t.Errorf("type=oci index.json: %s", b)
	}

	if r := g.Must(t, ".", "images"); strings.Contains(r.Stdout, "unknown") || !strings.Contains(r.Stdout, " linux/amd64,linux/arm64") {
		t.Errorf("gorae images:\n%s", r.Stdout)
	}
	r := g.Must(t, ".", "inspect", "--format", "{{json .Provenance}}", ref)
	var prov map[string]struct{ SLSA map[string]any }
	if err := json.Unmarshal([]byte(r.Stdout), &prov); err != nil || len(prov) != 2 || prov["linux/arm64"].SLSA == nil || prov["linux/amd64"].SLSA == nil {
		t.Errorf("inspect --format '{{json .Provenance}}': %v\n%s", err, r.Stdout)
	}

	// --verify-reproducible compares the images, not their attestations
	// (whose times differ by design).
	g.Must(t, dir, "build", "-q", "--provenance=true", "--verify-reproducible", "--build-arg", "SOURCE_DATE_EPOCH=1700000000", ".")

	// Off by default: one plain manifest.
	plain := reg.Host + "/att/plain:1"
	g.Must(t, dir, "build", "-q", "-t", plain, "--push", ".")
	if desc, err := remote.Get(mustRef(t, plain)); err != nil || desc.MediaType != types.OCIManifestSchema1 {
		t.Errorf("a build without attestation flags pushed %v (%v), want an image manifest", desc, err)
	}
	for _, args := range [][]string{
		{"--provenance=true", "--oci-mediatypes=false"},
		{"--attest", "type=foo"},
		{"--provenance=mode=medium"},
	} {
		r := g.Run(t, dir, append(append([]string{"build", "-q"}, args...), ".")...)
		if r.Code != 2 {
			t.Errorf("gorae build %v: exit %d, want 2\n%s", args, r.Code, r.Stderr)
		}
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAttestGitContext: a build from a git context names it as the
// config source (URL with ref and subdirectory, commit, Dockerfile path)
// and pins it and an ADD of another repository by commit; with no local
// source the dependencies are complete and, without RUN, the build
// hermetic.
func TestAttestGitContext(t *testing.T) {
	g := newGorae(t)
	srv := testutil.NewGitServer(t)
	srv.Repo(t, "lib")
	lib := srv.Commit(t, "lib", map[string]string{"src/lib.txt": "lib\n"})
	srv.Repo(t, "app")
	app := srv.Commit(t, "app", map[string]string{
		"web/Dockerfile.alt": "FROM busybox\nADD " + srv.URL + "/lib.git#main:src /lib/\nCOPY index.html /\n",
		"web/index.html":     "<p>hi</p>\n",
	})
	url := srv.URL + "/app.git"
	g.Must(t, t.TempDir(), "build", "-q", "--provenance=true", "-f", "Dockerfile.alt", "-t", "gitapp", url+"#main:web")
	r := g.Must(t, ".", "inspect", "--format", "{{json .Provenance.SLSA}}", "gitapp")
	var p attest.Provenance
	if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	cs := p.BuildDefinition.ExternalParameters.ConfigSource
	if cs.URI != url+"#main:web" || cs.Digest["sha1"] != app || cs.Path != "Dockerfile.alt" {
		t.Errorf("config source %+v, want %s#main:web at %s, path Dockerfile.alt", cs, url, app)
	}
	deps := p.BuildDefinition.ResolvedDependencies
	if len(deps) != 3 || !strings.HasPrefix(deps[0].URI, "pkg:docker/busybox@latest") ||
		deps[1].URI != url+"#main" || deps[1].Digest["sha1"] != app || deps[2].URI != srv.URL+"/lib.git#main" || deps[2].Digest["sha1"] != lib {
		t.Errorf("resolved dependencies %+v", deps)
	}
	md := p.RunDetails.Metadata
	if p.BuildDefinition.ExternalParameters.Request.Locals != nil || md == nil || !md.Completeness.ResolvedDependencies || !md.Hermetic {
		t.Errorf("locals %+v, metadata %+v", p.BuildDefinition.ExternalParameters.Request.Locals, md)
	}
}

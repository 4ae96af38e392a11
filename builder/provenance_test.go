package builder

import (
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/gitsource"
)

// TestProvenanceSources: what a remote context is as a dependency and as
// the config source, which sources are local, and the request's
// arguments under buildx's keys.
func TestProvenanceSources(t *testing.T) {
	u, err := gitsource.Parse("https://user:pw@git.example/app.git#main:web")
	if err != nil {
		t.Fatal(err)
	}
	commit := "0123456789abcdef0123456789abcdef01234567"
	git := sourcePin{git: u, digest: commit}
	dep, uri := git.material()
	if dep.URI != "https://xxxxx:xxxxx@git.example/app.git#main" || dep.Digest["sha1"] != commit || uri != "https://xxxxx:xxxxx@git.example/app.git#main:web" {
		t.Errorf("git context: %+v, config URI %s", dep, uri)
	}
	tar := sourcePin{url: "https://files.example/ctx.tar.gz", digest: "sha256:abcd"}
	if dep, uri := tar.material(); dep.URI != tar.url || dep.Digest["sha256"] != "abcd" || uri != tar.url {
		t.Errorf("tarball context: %+v, config URI %s", dep, uri)
	}

	a := &attestor{attestInput: attestInput{file: "Dockerfile.alt", pins: map[string]sourcePin{"context": git}}}
	a.orig.Dockerfile = "sub/Dockerfile.alt"
	if cs := a.configSource(); cs.URI != uri || cs.Digest["sha1"] != commit || cs.Path != "sub/Dockerfile.alt" {
		t.Errorf("config source of a git context: %+v", cs)
	}
	c := &captured{contexts: map[string]bool{"context": true, "assets": true, "remote": true}}
	a.pins["remote"] = tar
	if got := a.locals(c); !reflect.DeepEqual(got, []attest.Local{{Name: "assets"}}) {
		t.Errorf("locals of a git context: %+v", got)
	}
	a.orig.Dockerfile = "/abs/Dockerfile"
	if got := a.locals(c); !reflect.DeepEqual(got, []attest.Local{{Name: "dockerfile"}, {Name: "assets"}}) {
		t.Errorf("locals of a git context with a local Dockerfile: %+v", got)
	}
	local := &attestor{attestInput: attestInput{file: "Dockerfile", pins: map[string]sourcePin{}}}
	if cs := local.configSource(); !reflect.DeepEqual(cs, attest.ConfigSource{Path: "Dockerfile"}) {
		t.Errorf("config source of a local context: %+v", cs)
	}
	if got := local.locals(&captured{}); !reflect.DeepEqual(got, []attest.Local{{Name: "context"}, {Name: "dockerfile"}}) {
		t.Errorf("locals of a local context: %+v", got)
	}

	dir := t.TempDir()
	local.orig = Options{
		BuildArgs: map[string]string{"A": "1"}, Labels: map[string]string{"l": "v"}, Target: "app",
		Contexts:      map[string]string{"assets": dir, "lib": "https://u:p@git.example/lib.git"},
		NoCacheFilter: []string{"a", "b"},
		Run:           frontend.RunDefaults{Network: "none", ExtraHosts: []string{"h=1.2.3.4", "g=::1"}, ShmSize: 1 << 20, Ulimits: []string{"nofile=1:2"}},
	}
	want := map[string]string{
		"build-arg:A": "1", "label:l": "v", "target": "app",
		"context:assets": "local:assets", "context:lib": "https://xxxxx:xxxxx@git.example/lib.git",
		"no-cache": "a,b", "force-network-mode": "none", "add-hosts": "h=1.2.3.4,g=::1", "shm-size": "1048576", "ulimit": "nofile=1:2",
	}
	if got := local.requestArgs(); !reflect.DeepEqual(got, want) {
		t.Errorf("request args:\n%v\nwant\n%v", got, want)
	}
}

// TestAddSecret: a secret is optional only when every mount of it is.
func TestAddSecret(t *testing.T) {
	var l []attest.Secret
	l = addSecret(l, "b", true)
	l = addSecret(l, "a", true)
	l = addSecret(l, "b", false)
	l = addSecret(l, "a", true)
	if want := []attest.Secret{{ID: "a", Optional: true}, {ID: "b"}}; !reflect.DeepEqual(l, want) {
		t.Errorf("secrets %+v, want %+v", l, want)
	}
}

// TestPlanIndexAnnotations: with attestations one platform has an index,
// so index and manifest-descriptor annotations have a place.
func TestPlanIndexAnnotations(t *testing.T) {
	one := []v1.Platform{{OS: "linux", Architecture: "amd64"}}
	got, err := planIndexAnnotations([]Annotation{{Type: "index", Key: "i", Value: "1"}, {Type: "manifest-descriptor", Key: "d", Value: "2"}}, one, true)
	if err != nil || got.index["i"] != "1" || got.descriptor["linux/amd64"]["d"] != "2" {
		t.Errorf("planIndexAnnotations: %+v, %v", got, err)
	}
}

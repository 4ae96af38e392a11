package exporter

import (
	"context"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestParse(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		spec string
		want Exporter
	}{
		{"type=oci,dest=out.tar", OCI{Dest: "out.tar", Tar: true}},
		{"type=oci,dest=out,tar=false", OCI{Dest: "out", Tar: false}},
		{"type=docker,dest=img.tar", Docker{Dest: "img.tar"}},
		// Without dest, type=docker is buildx's --load: the image store.
		{"type=docker", Image{}},
		{"type=docker,name=app:1", Image{Names: []string{"app:1"}}},
		{"type=local,dest=dir", Local{Dest: "dir"}},
		{"type=tar,dest=f.tar", Tar{Dest: "f.tar"}},
		{"type=tar,dest=-", Tar{Dest: "-"}},
		{"type=oci,dest=-", OCI{Dest: "-", Tar: true}},
		{"out/dir", Local{Dest: "out/dir"}},
		{"-", Tar{Dest: "-"}},
		{"type=image", Image{}},
		{"type=image,push=true", Image{Push: true}},
		{`type=image,"name=a:1,b:2",push=false`, Image{Names: []string{"a:1", "b:2"}}},
		{"type=registry", Image{Push: true}},
		{"TYPE=local,dest=a b", Local{Dest: "a b"}},
		{"type=local,dest=d,platform-split=false", Local{Dest: "d", PlatformSplit: &no}},
		{"type=tar,dest=-,platform-split=true", Tar{Dest: "-", PlatformSplit: &yes}},
		{"type=tar,dest=f.tar,platform-split=0", Tar{Dest: "f.tar", PlatformSplit: &no}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.spec, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.spec, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"type=zip", `invalid --output "type=zip": unknown type "zip" (use image, oci, docker, local or tar)`},
		{"", `invalid --output "": empty value (use image, oci, docker, local or tar, e.g. type=local,dest=out)`},
		{"dest=out", `invalid --output "dest=out": missing type (use image, oci, docker, local or tar)`},
		{"type=local", `invalid --output "type=local": type=local needs dest=PATH`},
		{"type=oci,dest=", `invalid --output "type=oci,dest=": type=oci needs dest=PATH`},
		{"type=local,dest=-", `invalid --output "type=local,dest=-": type=local writes a directory, not stdout; use type=tar,dest=- for a tar on stdout`},
		{"type=oci,dest=o,tar=maybe", `invalid --output "type=oci,dest=o,tar=maybe": tar="maybe" is not true or false`},
		{"type=oci,dest=-,tar=false", `invalid --output "type=oci,dest=-,tar=false": dest=- needs a tar; drop tar=false or name a directory`},
		{"type=docker,dest=a,compression=zstd", `invalid --output "type=docker,dest=a,compression=zstd": unknown key "compression" for type=docker (valid: dest, name)`},
		{"type=docker,dest=a,name=x", `invalid --output "type=docker,dest=a,name=x": name= with dest= is not supported: the tarball holds the build's -t names`},
		{"type=local,dest=a,dest=b", `invalid --output "type=local,dest=a,dest=b": key "dest" given twice`},
		{"type=local,dir", `invalid --output "type=local,dir": "dir" is not KEY=VALUE`},
		{"type=image,push=yes", `invalid --output "type=image,push=yes": push="yes" is not true or false`},
		{"type=registry,push=false", `invalid --output "type=registry,push=false": type=registry always pushes; drop push=false`},
		{"type=local,dest=d,platform-split=maybe", `invalid --output "type=local,dest=d,platform-split=maybe": platform-split="maybe" is not true or false`},
		{"type=oci,dest=o,platform-split=true", `invalid --output "type=oci,dest=o,platform-split=true": unknown key "platform-split" for type=oci (valid: dest, tar)`},
		{"type=docker,dest=a,platform-split=false", `invalid --output "type=docker,dest=a,platform-split=false": unknown key "platform-split" for type=docker (valid: dest, name)`},
		{"type=image,platform-split=true", `invalid --output "type=image,platform-split=true": unknown key "platform-split" for type=image (valid: name, push)`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.spec)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v\nwant %s", tt.spec, err, tt.want)
		}
	}
}

// recorder is a store sink that remembers what it was given.
type recorder struct{ names []string }

func (r *recorder) Export(_ context.Context, _ v1.Image, names []string) error {
	r.names = names
	return nil
}

func TestImageStoresAndPushes(t *testing.T) {
	host, c := testRegistry(t)
	img := randomImage(t)
	st := &recorder{}
	e, err := Parse("type=image,name=" + host + "/extra:1,push=true")
	if err != nil {
		t.Fatal(err)
	}
	ie := e.(Image)
	ie.Store = st
	ie.Registry.Options.Keychain = authn.NewMultiKeychain()
	if err := ie.Export(t.Context(), img, []string{host + "/app:1"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{host + "/app:1", host + "/extra:1"}; !reflect.DeepEqual(st.names, want) {
		t.Errorf("store got %q, want %q", st.names, want)
	}
	if _, man := c.reset(); man != 2 {
		t.Errorf("%d manifest PUTs, want 2 (one per repository)", man)
	}
}

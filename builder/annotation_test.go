package builder

import (
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestParseAnnotation(t *testing.T) {
	for in, want := range map[string][]Annotation{
		"k=v":                             {{Key: "k", Value: "v"}},
		"k=a=b":                           {{Key: "k", Value: "a=b"}},
		"manifest:k=v":                    {{Type: "manifest", Key: "k", Value: "v"}},
		"manifest[linux/amd64],index:k=v": {{Type: "manifest", Platform: "linux/amd64", Key: "k", Value: "v"}, {Type: "index", Key: "k", Value: "v"}},
	} {
		got, err := ParseAnnotation(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseAnnotation(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"k":                  `invalid annotation "k", expected key=value`,
		"layer:k=v":          `unknown annotation type "layer"`,
		"Manifest:k=v":       `invalid annotation type "Manifest"`,
		"manifest[nope]:k=v": `invalid platform "nope"`,
	} {
		if _, err := ParseAnnotation(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseAnnotation(%q) error %v, want %q", in, err, msg)
		}
	}
}

func TestPlanAnnotations(t *testing.T) {
	amd := v1.Platform{OS: "linux", Architecture: "amd64"}
	arm := v1.Platform{OS: "linux", Architecture: "arm64"}
	one := []v1.Platform{amd}
	got, err := planAnnotations([]Annotation{{Key: "a", Value: "1"}, {Type: "manifest", Platform: "linux/amd64", Key: "b", Value: "2"}}, one)
	if err != nil || !reflect.DeepEqual(got.manifest["linux/amd64"], map[string]string{"a": "1", "b": "2"}) {
		t.Errorf("planAnnotations = %v, %v", got, err)
	}
	if got, err := planAnnotations(nil, one); len(got.manifest) != 0 || err != nil {
		t.Errorf("no annotations: %v, %v", got, err)
	}
	for _, a := range []Annotation{{Type: "index", Key: "k"}, {Type: "manifest-descriptor", Key: "k"}, {Type: "index-descriptor", Key: "k"}} {
		if _, err := planAnnotations([]Annotation{a}, one); err == nil || !strings.Contains(err.Error(), "single-platform image manifest") {
			t.Errorf("%s annotation: %v", a.Type, err)
		}
	}
	if _, err := planAnnotations([]Annotation{{Type: "manifest", Platform: "linux/arm64", Key: "k"}}, one); err == nil || !strings.Contains(err.Error(), "no platform linux/arm64 found in source") {
		t.Errorf("other platform: %v", err)
	}

	two := []v1.Platform{amd, arm}
	got, err = planAnnotations([]Annotation{
		{Key: "all", Value: "1"}, {Type: "manifest", Platform: "linux/arm64", Key: "arm", Value: "2"},
		{Type: "manifest-descriptor", Key: "d", Value: "3"}, {Type: "index", Key: "i", Value: "4"},
	}, two)
	want := indexAnnotations{
		manifest:   map[string]map[string]string{"linux/amd64": {"all": "1"}, "linux/arm64": {"all": "1", "arm": "2"}},
		descriptor: map[string]map[string]string{"linux/amd64": {"d": "3"}, "linux/arm64": {"d": "3"}},
		index:      map[string]string{"i": "4"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("two platforms: %+v, %v", got, err)
	}
	if _, err := planAnnotations([]Annotation{{Type: "index-descriptor", Key: "k"}}, two); err == nil || !strings.Contains(err.Error(), "use index:k") {
		t.Errorf("index-descriptor: %v", err)
	}
}

// TestPlanAnnotationsPlatformWins: an annotation for one platform
// overrides one for every platform whatever their order, as BuildKit's
// AnnotationsGroup.Platform applies the general ones first.
func TestPlanAnnotationsPlatformWins(t *testing.T) {
	two := []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
	got, err := planAnnotations([]Annotation{
		{Type: "manifest", Platform: "linux/arm64", Key: "k", Value: "arm"}, {Key: "k", Value: "all"},
		{Type: "manifest-descriptor", Platform: "linux/arm64", Key: "d", Value: "arm"}, {Type: "manifest-descriptor", Key: "d", Value: "all"},
	}, two)
	if err != nil {
		t.Fatal(err)
	}
	if m := got.manifest["linux/arm64"]["k"]; m != "arm" {
		t.Errorf("arm64 manifest k=%s, want arm", m)
	}
	if m := got.manifest["linux/amd64"]["k"]; m != "all" {
		t.Errorf("amd64 manifest k=%s, want all", m)
	}
	if d := got.descriptor["linux/arm64"]["d"]; d != "arm" {
		t.Errorf("arm64 descriptor d=%s, want arm", d)
	}
}

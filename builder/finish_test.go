package builder

import (
	"slices"
	"strings"
	"testing"

	"github.com/gorae/gorae/exporter"
)

func TestParseTargetsImageNames(t *testing.T) {
	for _, tc := range []struct {
		tags, outputs []string
		names         []string
		pushes        int
	}{
		// name= names the stored image; push=true pushes them.
		{nil, []string{`type=image,"name=127.0.0.1:5000/a:1,127.0.0.1:5000/b:2",push=false`}, []string{"127.0.0.1:5000/a:1", "127.0.0.1:5000/b:2"}, 0},
		{nil, []string{"type=registry,name=127.0.0.1:5000/a:1"}, []string{"127.0.0.1:5000/a:1"}, 1},
		// -t replaces name=, as in buildx.
		{[]string{"app:1"}, []string{"type=image,name=other:2,push=true"}, []string{"docker.io/library/app:1"}, 1},
	} {
		tg, err := parseTargets(Options{Tags: tc.tags, Outputs: tc.outputs})
		if err != nil {
			t.Errorf("%v %v: %v", tc.tags, tc.outputs, err)
			continue
		}
		if !slices.Equal(tg.names, tc.names) || len(tg.sinks) != tc.pushes {
			t.Errorf("%v %v: names %v, %d sinks; want %v, %d", tc.tags, tc.outputs, tg.names, len(tg.sinks), tc.names, tc.pushes)
		}
		for _, s := range tg.sinks {
			if img, ok := s.(exporter.Image); !ok || !img.Push || len(img.Names) != 0 {
				t.Errorf("sink %+v: want a push with the build's names", s)
			}
		}
	}
	for spec, msg := range map[string]string{
		"type=registry":                     "a push needs a name",
		"type=image,name=UPPER/x,push=true": `name UPPER/x`,
	} {
		if _, err := parseTargets(Options{Outputs: []string{spec}}); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %v, want %q", spec, err, msg)
		}
	}
}

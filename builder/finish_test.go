package builder

import (
	"slices"
	"strings"
	"testing"
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
		tg, err := parseTargets(Options{Tags: tc.tags, Outputs: tc.outputs}, 1)
		if err != nil {
			t.Errorf("%v %v: %v", tc.tags, tc.outputs, err)
			continue
		}
		// A push is --push's (with its progress lines), of the build's
		// names; it is no sink of its own.
		if !slices.Equal(tg.names, tc.names) || tg.push != (tc.pushes > 0) || len(tg.sinks) != 0 {
			t.Errorf("%v %v: names %v, push %v, %d sinks; want %v, %d pushes", tc.tags, tc.outputs, tg.names, tg.push, len(tg.sinks), tc.names, tc.pushes)
		}
	}
	for spec, msg := range map[string]string{
		"type=registry":                     "a push needs a name",
		"type=image,name=UPPER/x,push=true": `name UPPER/x`,
	} {
		if _, err := parseTargets(Options{Outputs: []string{spec}}, 1); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %v, want %q", spec, err, msg)
		}
	}
}

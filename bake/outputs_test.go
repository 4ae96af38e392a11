package bake

import (
	"slices"
	"testing"

	"github.com/gorae/gorae/bakefile"
)

// TestPushes: --push pushes targets that make an image; a target's own
// registry output pushes without it; cacheonly targets never push.
func TestPushes(t *testing.T) {
	for _, c := range []struct {
		outputs []string
		all     bool
		want    bool
	}{
		{nil, true, true},
		{nil, false, false},
		{[]string{"type=registry"}, false, true},
		{[]string{"type=image,push=true"}, false, true},
		{[]string{"type=image"}, true, true},
		{[]string{"type=local,dest=out"}, true, false},
		{[]string{"type=cacheonly"}, true, false},
	} {
		if got := Pushes(&bakefile.Target{Name: "x", Outputs: c.outputs}, c.all); got != c.want {
			t.Errorf("Pushes(%v, --push=%v) = %v, want %v", c.outputs, c.all, got, c.want)
		}
	}
	if got := Names(&bakefile.Target{Tags: []string{"a"}, Outputs: []string{`type=registry,"name=b"`, "type=local,name=c"}}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Names = %v", got)
	}
}

package bake

import (
	"slices"
	"testing"

	"github.com/gorae/gorae/bakefile"
)

// TestPushes: a target pushes when an output of it does (--push, as
// --set *.push=true, makes its image outputs push); never when it is
// built only for its dependents.
func TestPushes(t *testing.T) {
	for _, c := range []struct {
		outputs []string
		want    bool
	}{
		{nil, false},
		{[]string{"type=registry"}, true},
		{[]string{"type=image,push=true"}, true},
		{[]string{"type=image"}, false},
		{[]string{"type=local,dest=out"}, false},
		{[]string{"type=cacheonly"}, false},
		{[]string{"type=cacheonly", "type=image,push=true"}, false},
	} {
		if got := Pushes(&bakefile.Target{Name: "x", Outputs: c.outputs}); got != c.want {
			t.Errorf("Pushes(%v) = %v, want %v", c.outputs, got, c.want)
		}
	}
	if got := Names(&bakefile.Target{Tags: []string{"a"}, Outputs: []string{`type=registry,"name=b"`, "type=local,name=c"}}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Names = %v", got)
	}
}

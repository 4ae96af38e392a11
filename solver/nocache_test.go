package solver

import (
	"testing"
)

// TestNoCacheVertexExecutesAndSaves: NoCache vertices execute although
// their keys are cached and save their new results; their cached inputs
// still come from the cache.
func TestNoCacheVertexExecutesAndSaves(t *testing.T) {
	base, mid, top := &op{name: "base"}, &op{name: "mid"}, &op{name: "top"}
	build := func(noCache bool) *Vertex[string] {
		m := vtx(mid, vtx(base))
		m.NoCache = noCache
		tv := vtx(top, m)
		tv.NoCache = noCache // a cached top would hide mid: see Vertex
		return tv
	}
	c := &memCache{}
	if _, err := Solve(t.Context(), []*Vertex[string]{build(false)}, c, Options{}); err != nil {
		t.Fatal(err)
	}
	var midKey Key
	for k, v := range c.m {
		if v == "mid(base())" {
			midKey = k
		}
	}
	c.m[midKey] = "stale"
	out, err := Solve(t.Context(), []*Vertex[string]{build(true)}, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := []int32{base.runs.Load(), mid.runs.Load(), top.runs.Load()}; got[0] != 1 || got[1] != 2 || got[2] != 2 {
		t.Errorf("runs base, mid, top = %v, want [1 2 2]", got)
	}
	if c.m[midKey] != "mid(base())" {
		t.Errorf("mid's record = %q, want the new result saved", c.m[midKey])
	}
	if out[0] != "top(mid(base()))" {
		t.Errorf("result %q, want one built on the new mid", out[0])
	}
}

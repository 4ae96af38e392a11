package builder

import (
	"errors"
	"testing"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/solver"
)

func TestNoCacheStages(t *testing.T) {
	set, err := noCacheStages([]string{"Build", "test"}, []string{"build", "test", "app"})
	if err != nil || len(set) != 2 || !set["build"] || !set["test"] {
		t.Fatalf("got %v, %v", set, err)
	}
	for _, tc := range []struct {
		filter, stages []string
		want           string
	}{
		{[]string{"nope"}, []string{"build", "app"}, `invalid --no-cache-filter: the Dockerfile has no stage named "nope"; its stages are: build, app`},
		{[]string{"0"}, []string{"build"}, `invalid --no-cache-filter: the Dockerfile has no stage named "0"; its stages are: build`},
		{[]string{"app"}, nil, `invalid --no-cache-filter: the Dockerfile has no stage named "app"; it has no named stages (name one with FROM … AS NAME)`},
		{[]string{"build", ""}, []string{"build"}, `invalid --no-cache-filter: empty stage name: give stage names, e.g. --no-cache-filter build,test`},
	} {
		_, err := noCacheStages(tc.filter, tc.stages)
		var fe *FlagError
		if !errors.As(err, &fe) || fe.Flag != "--no-cache-filter" {
			t.Errorf("%q: error %v is not a --no-cache-filter FlagError", tc.filter, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.filter, err, tc.want)
		}
	}
}

// TestMarkNoCache: the filtered stage's RUN and COPY execute, its
// WORKDIR before them does not, and so does every step reading a re-run
// result, in any stage; steps of other stages that do not read one stay
// cacheable.
func TestMarkNoCache(t *testing.T) {
	img := &graph.Node{Op: graph.Image{Ref: "busybox", Digest: "sha256:1"}, Name: "FROM busybox"}
	ctxNode := &graph.Node{Op: graph.Context{Name: "context"}, Name: "[internal] load build context"}
	wd := &graph.Node{Op: graph.Mkdir{Path: "/w"}, Inputs: []*graph.Node{img}, Name: "[a 2/4] WORKDIR /w", Stage: "a"}
	run1 := &graph.Node{Op: graph.Run{Args: []string{"one"}}, Inputs: []*graph.Node{wd}, Name: "[a 3/4] RUN one", Stage: "a"}
	cp := &graph.Node{Op: graph.Copy{Dest: "/x"}, Inputs: []*graph.Node{run1, ctxNode}, Name: "[a 4/4] COPY x /x", Stage: "a"}
	other := &graph.Node{Op: graph.Run{Args: []string{"other"}}, Inputs: []*graph.Node{img}, Name: "[b 2/2] RUN other", Stage: "b"}
	final := &graph.Node{Op: graph.Copy{Dest: "/y"}, Inputs: []*graph.Node{other, cp}, Name: "[stage-2 2/3] COPY --from=a /x /y"}
	last := &graph.Node{Op: graph.Run{Args: []string{"last"}}, Inputs: []*graph.Node{final}, Name: "[stage-2 3/3] RUN last"}
	roots := []*graph.Node{last, other}

	vs := map[*graph.Node]*solver.Vertex[*ops.State]{}
	graph.Walk(roots, func(n *graph.Node) error {
		v := &solver.Vertex[*ops.State]{Name: n.Name}
		for _, in := range n.Inputs {
			v.Inputs = append(v.Inputs, vs[in])
		}
		vs[n] = v
		return nil
	})
	why := markNoCache(map[string]bool{"a": true}, roots, []*solver.Vertex[*ops.State]{vs[last], vs[other]})

	wantWhy := map[*graph.Node]string{
		run1:  "not looked up (--no-cache-filter a)",
		cp:    "not looked up (--no-cache-filter a)",
		final: "not looked up: it reads the result of a step that --no-cache-filter a re-ran",
		last:  "not looked up: it reads the result of a step that --no-cache-filter a re-ran",
	}
	for n, v := range vs {
		if v.NoCache != (wantWhy[n] != "") {
			t.Errorf("%s: NoCache = %v", n.Name, v.NoCache)
		}
		if why[n.Name] != wantWhy[n] {
			t.Errorf("%s: why = %q, want %q", n.Name, why[n.Name], wantWhy[n])
		}
	}

	for _, v := range vs {
		v.NoCache = false
	}
	if why := markNoCache(nil, roots, []*solver.Vertex[*ops.State]{vs[last], vs[other]}); len(why) != 0 {
		t.Errorf("no filter marked %v", why)
	}
	for n, v := range vs {
		if v.NoCache {
			t.Errorf("no filter: %s marked", n.Name)
		}
	}
}

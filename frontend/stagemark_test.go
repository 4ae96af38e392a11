package frontend

import (
	"slices"
	"testing"

	"github.com/gorae/gorae/graph"
)

// TestNodeStage checks what --no-cache-filter selects by: every node an
// instruction makes carries its stage's name (lower case, as written
// after AS), nodes of unnamed stages and of no instruction carry none,
// and Result.Names lists every named stage, pruned or not.
func TestNodeStage(t *testing.T) {
	df := `FROM busybox AS Base
WORKDIR /w
RUN echo base
COPY a.txt /a
FROM base AS app
RUN echo app
ADD https://example.com/f.tgz /f.tgz
FROM busybox AS unused
RUN echo unused
FROM busybox
COPY --from=app /w /w
RUN echo final
`
	res, err := convertString(t, df, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"base", "app", "unused"}; !slices.Equal(res.Names, want) {
		t.Errorf("Names = %q, want %q", res.Names, want)
	}
	got := map[string]string{} // node name → stage, for named nodes
	kinds := map[string]string{}
	graph.Walk([]*graph.Node{res.Root}, func(n *graph.Node) error {
		key := n.Name
		if key == "" {
			key = n.Op.Kind()
		}
		got[key] = n.Stage
		kinds[key] = n.Op.Kind()
		return nil
	})
	want := map[string]string{
		"[base 2/4] WORKDIR /w":                          "base",
		"[base 3/4] RUN echo base":                       "base",
		"[base 4/4] COPY a.txt /a":                       "base",
		"[app 1/2] RUN echo app":                         "app",
		"[app 2/2] ADD https://example.com/f.tgz /f.tgz": "app",
		"[stage-3 2/3] COPY --from=app /w /w":            "",
		"[stage-3 3/3] RUN echo final":                   "",
		"[internal] load build context":                  "",
	}
	for name, stage := range want {
		s, ok := got[name]
		if !ok {
			t.Errorf("no node %q in %v", name, kinds)
			continue
		}
		if s != stage {
			t.Errorf("%s (%s): Stage = %q, want %q", name, kinds[name], s, stage)
		}
	}
	for name, s := range got {
		if s == "unused" {
			t.Errorf("%s belongs to the pruned stage", name)
		}
		if kinds[name] == "image" && s != "" {
			t.Errorf("base image %s: Stage = %q, want none (one image node may serve several stages)", name, s)
		}
	}
}

// TestNodeStageNotInDigest: two Dockerfiles that differ only in stage
// names build the same nodes, so their cache keys stay shared.
func TestNodeStageNotInDigest(t *testing.T) {
	a, err := convertString(t, "FROM busybox AS one\nRUN echo hi\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := convertString(t, "FROM busybox AS two\nRUN echo hi\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Root.Stage != "one" || b.Root.Stage != "two" {
		t.Fatalf("stages %q, %q", a.Root.Stage, b.Root.Stage)
	}
	if a.Root.Digest() != b.Root.Digest() {
		t.Errorf("digests differ: %s vs %s", a.Root.Digest(), b.Root.Digest())
	}
}

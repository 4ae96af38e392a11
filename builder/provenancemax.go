package builder

import (
	"fmt"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/ops"
)

// steps are a platform's build graph as mode=max provenance lists it:
// every node once, inputs first (BuildKit's llbDefinition order), with
// the state of those the image is made from.
type steps struct {
	nodes  []*graph.Node
	index  map[string]int // node digest → its step
	states map[string]*ops.State
	env    *ops.Env
}

func buildSteps(root *graph.Node, env *ops.Env, states map[string]*ops.State) *steps {
	s := &steps{index: map[string]int{}, states: states, env: env}
	graph.Walk([]*graph.Node{root}, func(n *graph.Node) error {
		if _, ok := s.index[n.Digest()]; !ok {
			s.index[n.Digest()] = len(s.nodes)
			s.nodes = append(s.nodes, n)
		}
		return nil
	})
	return s
}

func stepID(i int) string { return fmt.Sprintf("step%d", i) }

// config is internalParameters.buildConfig: gorae's steps and the
// mapping from node digests to them.
func (s *steps) config() *attest.BuildConfig {
	bc := &attest.BuildConfig{DigestMapping: map[string]string{}}
	for i, n := range s.nodes {
		st := attest.Step{ID: stepID(i), Op: n.Op.Kind(), Name: n.Name}
		for _, in := range n.Inputs {
			st.Inputs = append(st.Inputs, stepID(s.index[in.Digest()])+":0")
		}
		switch op := n.Op.(type) {
		case graph.Image:
			st.Source, st.Digest = op.Ref, op.Digest
		case graph.Context:
			st.Source = op.Name
		case graph.HTTP:
			st.Source = attest.RedactURL(op.URL)
			st.Digest, _ = s.env.Pinned(n.Digest())
		case graph.Git:
			st.Source = attest.RedactURL(op.URL)
			st.Digest, _ = s.env.Pinned(n.Digest())
		case graph.Run:
			st.Command = op.Args
		}
		if l, ok := s.states[n.Digest()].OwnLayer(); ok {
			d := layerDescriptor(l)
			st.Layer = &d
		}
		bc.Steps = append(bc.Steps, st)
		bc.DigestMapping[n.Digest()] = stepID(i)
	}
	return bc
}

// source is buildkit_metadata.source: the Dockerfile, and the line of
// every step an instruction made.
func (s *steps) source(file string, src []byte) *attest.Source {
	out := &attest.Source{
		Locations: map[string]attest.Locations{},
		Infos:     []attest.SourceInfo{{Filename: file, Language: "Dockerfile", Data: src}},
	}
	for i, n := range s.nodes {
		if n.Pos.Line <= 0 {
			continue
		}
		pos := attest.Position{Line: n.Pos.Line}
		out.Locations[stepID(i)] = attest.Locations{Locations: []attest.Location{{Ranges: []attest.Range{{Start: pos, End: pos}}}}}
	}
	if len(out.Locations) == 0 {
		out.Locations = nil
	}
	return out
}

// layers is buildkit_metadata.layers: for every step the image is made
// from, the layer chain of its result.
func (s *steps) layers() map[string][][]attest.Descriptor {
	out := map[string][][]attest.Descriptor{}
	for i, n := range s.nodes {
		st := s.states[n.Digest()]
		if st == nil || len(st.Layers) == 0 {
			continue
		}
		chain := make([]attest.Descriptor, len(st.Layers))
		for j, l := range st.Layers {
			chain[j] = layerDescriptor(l)
		}
		out[stepID(i)+":0"] = [][]attest.Descriptor{chain}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func layerDescriptor(l ops.Layer) attest.Descriptor {
	return attest.Descriptor{MediaType: string(l.MediaType), Digest: l.Digest.String(), Size: l.Size}
}

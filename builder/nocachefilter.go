package builder

import (
	"fmt"
	"strings"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/solver"
)

// FlagError is a flag value that only the Dockerfile shows to be wrong,
// such as a --no-cache-filter stage the Dockerfile does not have: a
// usage error (gorae exits 2), not a failed build.
type FlagError struct {
	Flag string // e.g. "--no-cache-filter"
	Msg  string
	// Err, when set, is the whole error (its text already names the
	// flag); Flag and Msg are then unused.
	Err error
}

func (e *FlagError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "invalid " + e.Flag + ": " + e.Msg
}

func (e *FlagError) Unwrap() error { return e.Err }

// badFlag marks err, whose text names the flag, as a usage error.
func badFlag(err error) error { return &FlagError{Err: err} }

// noCacheStages checks the --no-cache-filter names against the
// Dockerfile's named stages and returns them as a set (lower case:
// stage names are matched case-insensitively, as BuildKit does). Only
// names count, as in BuildKit: an unnamed stage cannot be filtered.
func noCacheStages(filter, stages []string) (map[string]bool, error) {
	if len(filter) == 0 {
		return nil, nil
	}
	known := map[string]bool{}
	for _, s := range stages {
		known[strings.ToLower(s)] = true
	}
	set := map[string]bool{}
	for _, f := range filter {
		name := strings.ToLower(strings.TrimSpace(f))
		if name == "" {
			return nil, &FlagError{Flag: "--no-cache-filter", Msg: "empty stage name: give stage names, e.g. --no-cache-filter build,test"}
		}
		if !known[name] {
			msg := fmt.Sprintf("the Dockerfile has no stage named %q", f)
			if len(stages) == 0 {
				msg += "; it has no named stages (name one with FROM … AS NAME)"
			} else {
				msg += "; its stages are: " + strings.Join(stages, ", ")
			}
			return nil, &FlagError{Flag: "--no-cache-filter", Msg: msg}
		}
		set[name] = true
	}
	return set, nil
}

// markNoCache sets Vertex.NoCache for --no-cache-filter, following
// BuildKit: every RUN, COPY and ADD of a filtered stage executes (its
// FROM and WORKDIR do not, unless they follow such a step), and so does
// every step that reads the result of a step that executed this way, in
// the same stage or a later one, since a re-run result advertises no key
// its dependents could be found under. (BuildKit still finds a COPY
// --from or RUN --mount=from of a filtered stage in the cache when the
// files it reads hash the same as before; gorae's keys do not hash stage
// contents, so such a step and its dependents run too.) vs are the
// vertices made from roots, in the same order and shape. The result
// maps a marked vertex's name to why it executes, for --explain.
func markNoCache(stages map[string]bool, roots []*graph.Node, vs []*solver.Vertex[*ops.State]) map[string]string {
	why := map[string]string{}
	if len(stages) == 0 {
		return why
	}
	// cause[n] is the filtered stage that makes n execute; "" = none.
	cause := map[*graph.Node]string{}
	var visit func(n *graph.Node, v *solver.Vertex[*ops.State]) string
	visit = func(n *graph.Node, v *solver.Vertex[*ops.State]) string {
		if c, ok := cause[n]; ok {
			return c
		}
		c, reason := "", ""
		if filteredStep(n, stages) {
			c = n.Stage
			reason = "not looked up (--no-cache-filter " + c + ")"
		}
		for i, in := range n.Inputs {
			if ic := visit(in, v.Inputs[i]); ic != "" && c == "" {
				c = ic
				reason = "not looked up: it reads the result of a step that --no-cache-filter " + c + " re-ran"
			}
		}
		cause[n] = c
		if c != "" {
			v.NoCache = true
			if n.Name != "" && why[n.Name] == "" {
				why[n.Name] = reason
			}
		}
		return c
	}
	for i, r := range roots {
		visit(r, vs[i])
	}
	return why
}

// filteredStep reports whether n is a RUN, COPY or ADD of a filtered
// stage: the steps BuildKit marks IgnoreCache.
func filteredStep(n *graph.Node, stages map[string]bool) bool {
	switch n.Op.(type) {
	case graph.Run, graph.Copy:
		return n.Stage != "" && stages[n.Stage]
	}
	return false
}

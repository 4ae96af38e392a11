package graph

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
)

// Pos is a position in a Dockerfile, for progress lines and errors.
type Pos struct {
	File string // "Dockerfile" or the name given with -f
	Line int    // 1-based; 0 when unknown
}

// Node is one vertex of the build graph: an Op and the nodes it reads.
// The meaning of each input is documented on the Op type.
type Node struct {
	Op     Op
	Inputs []*Node
	// Name is the progress label, e.g. "[stage-1 2/7] COPY . /app".
	Name string
	Pos  Pos
	// Stage is the name (FROM … AS name) of the Dockerfile stage whose
	// instruction made the node; "" in an unnamed stage and for nodes no
	// instruction made (base images, contexts). Like Name and Pos it is
	// not part of the digest: it selects --no-cache-filter steps.
	Stage string

	digestOnce sync.Once
	digest     string
}

// Digest is the canonical digest of the node's definition: its op and,
// recursively, its inputs. Two nodes with equal digests build the same
// thing from the same sources (the sources' content is not part of it:
// content enters the cache key when the solver runs, see ops).
func (n *Node) Digest() string {
	n.digestOnce.Do(func() {
		var e Encoder
		e.String("gorae/graph/v1")
		e.String(n.Op.Kind())
		n.Op.Encode(&e)
		e.Uvarint(uint64(len(n.Inputs)))
		for _, in := range n.Inputs {
			e.String(in.Digest())
		}
		sum := sha256.Sum256(e.Bytes())
		n.digest = "sha256:" + hex.EncodeToString(sum[:])
	})
	return n.digest
}

// Walk calls fn once for every node reachable from roots, inputs before
// the nodes that use them.
func Walk(roots []*Node, fn func(*Node) error) error {
	seen := map[*Node]bool{}
	var visit func(*Node) error
	visit = func(n *Node) error {
		if n == nil || seen[n] {
			return nil
		}
		seen[n] = true
		for _, in := range n.Inputs {
			if err := visit(in); err != nil {
				return err
			}
		}
		return fn(n)
	}
	for _, r := range roots {
		if err := visit(r); err != nil {
			return err
		}
	}
	return nil
}

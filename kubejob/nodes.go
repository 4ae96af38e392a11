package kubejob

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
)

// hostnameLabel is the node label preferred node affinity names.
const hostnameLabel = "kubernetes.io/hostname"

// nodeList is what `kubectl get nodes -o json` says that placement needs.
type nodeList struct {
	Items []node `json:"items"`
}

// node is one item of a nodeList.
type node struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Unschedulable bool `json:"unschedulable"`
	} `json:"spec"`
	Status struct {
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
	} `json:"status"`
}

// hostnames are the kubernetes.io/hostname labels of the nodes a Job can
// run on: schedulable and Ready (a node without conditions counts as
// ready). A node without the label goes by its name, which is what the
// kubelet sets the label to by default.
func (l nodeList) hostnames() []string {
	var out []string
	for _, n := range l.Items {
		if n.Spec.Unschedulable {
			continue
		}
		ready := true
		for _, c := range n.Status.Conditions {
			if c.Type == "Ready" && c.Status != "True" {
				ready = false
			}
		}
		if !ready {
			continue
		}
		h := n.Metadata.Labels[hostnameLabel]
		if h == "" {
			h = n.Metadata.Name
		}
		out = append(out, h)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// getNodes lists the nodes' hostnames once per Builder. Without them
// (RBAC allows no `get nodes`) Jobs go wherever the scheduler puts them.
func (b *Builder) getNodes(ctx context.Context) []string {
	b.nodesOnce.Do(func() {
		var l nodeList
		if err := b.k.getJSON(ctx, &l, "nodes"); err != nil {
			b.log("", "warning: no node affinity for the Jobs (node-local caches may stay cold): "+err.Error())
			return
		}
		b.nodes = l.hostnames()
	})
	return b.nodes
}

// rendezvous orders nodes by their rendezvous (highest random weight)
// score for target: the first is the target's home node. Adding or
// removing a node moves only the targets whose home it was or becomes,
// so a target keeps its node, and the node its warm cache, as the
// cluster changes.
func rendezvous(target string, nodes []string) []string {
	type scored struct {
		node  string
		score uint64
	}
	s := make([]scored, len(nodes))
	for i, n := range nodes {
		h := sha256.Sum256([]byte(target + "\x00" + n))
		s[i] = scored{n, binary.BigEndian.Uint64(h[:8])}
	}
	slices.SortFunc(s, func(a, b scored) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return strings.Compare(a.node, b.node)
	})
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.node
	}
	return out
}

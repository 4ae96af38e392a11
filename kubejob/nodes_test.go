package kubejob

import (
	"fmt"
	"slices"
	"testing"
)

// TestRendezvous: a target's home node is stable, whatever the order the
// nodes come in; targets spread over the nodes; removing a node moves
// only the targets it was home to, and adding one moves targets only to
// it.
func TestRendezvous(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4"}
	home := map[string]string{}
	count := map[string]int{}
	for i := range 400 {
		target := fmt.Sprintf("target-%d", i)
		order := rendezvous(target, nodes)
		if len(order) != len(nodes) {
			t.Fatalf("%s: order %v", target, order)
		}
		rev := slices.Clone(nodes)
		slices.Reverse(rev)
		if again := rendezvous(target, rev); !slices.Equal(again, order) {
			t.Fatalf("%s: order %v, with the nodes reversed %v", target, order, again)
		}
		home[target] = order[0]
		count[order[0]]++
	}
	for _, n := range nodes {
		if count[n] < 60 { // 100 expected
			t.Errorf("node %s is home to %d of 400 targets: %v", n, count[n], count)
		}
	}
	for target, h := range home {
		if got := rendezvous(target, []string{"n1", "n2", "n4"})[0]; h != "n3" && got != h {
			t.Errorf("%s moved from %s to %s when n3 left", target, h, got)
		}
		if got := rendezvous(target, append(slices.Clone(nodes), "n5"))[0]; got != h && got != "n5" {
			t.Errorf("%s moved from %s to %s when n5 came", target, h, got)
		}
	}
}

// TestHostnames: cordoned and not-ready nodes are never preferred; the
// hostname label wins over the node's name.
func TestHostnames(t *testing.T) {
	var l nodeList
	l.Items = make([]node, 4)
	l.Items[0].Metadata.Name = "b"
	l.Items[1].Metadata.Name = "a-node"
	l.Items[1].Metadata.Labels = map[string]string{hostnameLabel: "a"}
	l.Items[2].Metadata.Name = "cordoned"
	l.Items[2].Spec.Unschedulable = true
	l.Items[3].Metadata.Name = "down"
	l.Items[3].Status.Conditions = append(l.Items[3].Status.Conditions, struct {
		Type   string `json:"type"`
		Status string `json:"status"`
	}{"Ready", "Unknown"})
	if got := l.hostnames(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("hostnames %v, want [a b]", got)
	}
}

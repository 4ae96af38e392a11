package solver

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// op is a fake Op over strings: its result is "name(in1,in2,...)".
type op struct {
	name   string
	salt   string // changes the key without changing the name
	keyErr error
	exec   func(ctx context.Context, in []string) (string, error)
	runs   atomic.Int32
}

func (o *op) CacheKey(context.Context) (Key, error) {
	if o.keyErr != nil {
		return Key{}, o.keyErr
	}
	return sha256.Sum256([]byte(o.name + "\x00" + o.salt)), nil
}

func (o *op) Exec(ctx context.Context, in []string) (string, error) {
	o.runs.Add(1)
	if o.exec != nil {
		return o.exec(ctx, in)
	}
	return o.name + "(" + strings.Join(in, ",") + ")", nil
}

func vtx(o *op, inputs ...*Vertex[string]) *Vertex[string] {
	return &Vertex[string]{Name: o.name, Op: o, Inputs: inputs}
}

// memCache is an in-memory Cache that records every Load.
type memCache struct {
	mu    sync.Mutex
	m     map[Key]string
	loads []Key
}

func (c *memCache) Load(_ context.Context, k Key) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loads = append(c.loads, k)
	r, ok := c.m[k]
	return r, ok, nil
}

func (c *memCache) Save(_ context.Context, k Key, r string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[Key]string{}
	}
	c.m[k] = r
	return nil
}

// recorder collects events; Solve must serialize the calls, which -race
// checks since it takes no lock.
type recorder struct{ events []Event }

func (r *recorder) add(e Event) { r.events = append(r.events, e) }

func (r *recorder) statuses(vertex string) []Status {
	var out []Status
	for _, e := range r.events {
		if e.Vertex == vertex {
			out = append(out, e.Status)
		}
	}
	return out
}

func TestDiamondRunsOnce(t *testing.T) {
	d, b, c, a := &op{name: "d"}, &op{name: "b"}, &op{name: "c"}, &op{name: "a"}
	vd := vtx(d)
	root := vtx(a, vtx(b, vd), vtx(c, vd))
	rec := &recorder{}
	got, err := Solve(t.Context(), []*Vertex[string]{root, vd}, nil, Options{Jobs: 4, Events: rec.add})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a(b(d()),c(d()))", "d()"}; !slices.Equal(got, want) {
		t.Errorf("results %q, want %q", got, want)
	}
	for _, o := range []*op{a, b, c, d} {
		if n := o.runs.Load(); n != 1 {
			t.Errorf("%s ran %d times", o.name, n)
		}
	}
	if s := rec.statuses("d"); !slices.Equal(s, []Status{Started, Done}) {
		t.Errorf("events of d: %v", s)
	}
}

func TestEqualKeysRunOnce(t *testing.T) {
	x1, x2 := &op{name: "x"}, &op{name: "x"}
	got, err := Solve(t.Context(), []*Vertex[string]{vtx(x1), vtx(x2)}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "x()" || got[1] != "x()" || x1.runs.Load()+x2.runs.Load() != 1 {
		t.Errorf("results %q, runs %d+%d; want one run shared", got, x1.runs.Load(), x2.runs.Load())
	}
}

func TestSiblingsRunConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Each sibling waits for the other to have started: if Solve ran
		// them one after the other, the bubble would deadlock.
		started := map[string]chan struct{}{"l": make(chan struct{}), "r": make(chan struct{})}
		meet := func(self, other string) func(context.Context, []string) (string, error) {
			return func(ctx context.Context, _ []string) (string, error) {
				close(started[self])
				<-started[other]
				return self, nil
			}
		}
		l := &op{name: "l", exec: meet("l", "r")}
		r := &op{name: "r", exec: meet("r", "l")}
		root := vtx(&op{name: "root"}, vtx(l), vtx(r))
		got, err := Solve(t.Context(), []*Vertex[string]{root}, nil, Options{Jobs: 2})
		if err != nil || got[0] != "root(l,r)" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
}

func TestJobsOneSerializes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var running, peak atomic.Int32
		leaf := func(name string) *Vertex[string] {
			return vtx(&op{name: name, exec: func(context.Context, []string) (string, error) {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(time.Second) // fake time: gives others every chance to overlap
				running.Add(-1)
				return name, nil
			}})
		}
		root := vtx(&op{name: "root"}, leaf("a"), leaf("b"), leaf("c"), leaf("d"))
		got, err := Solve(t.Context(), []*Vertex[string]{root}, nil, Options{Jobs: 1})
		if err != nil || got[0] != "root(a,b,c,d)" {
			t.Fatalf("got %q, %v", got, err)
		}
		if p := peak.Load(); p != 1 {
			t.Errorf("%d Execs overlapped with Jobs=1", p)
		}
		// With 4 slots all four leaves overlap.
		running.Store(0)
		peak.Store(0)
		root = vtx(&op{name: "root"}, leaf("a"), leaf("b"), leaf("c"), leaf("d"))
		if _, err := Solve(t.Context(), []*Vertex[string]{root}, nil, Options{Jobs: 4}); err != nil {
			t.Fatal(err)
		}
		if p := peak.Load(); p != 4 {
			t.Errorf("peak %d Execs with Jobs=4, want 4", p)
		}
	})
}

func TestErrorCancelsSiblings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		slowStarted := make(chan struct{})
		var slowSawCancel atomic.Bool
		slow := &op{name: "slow", exec: func(ctx context.Context, _ []string) (string, error) {
			close(slowStarted)
			<-ctx.Done()
			slowSawCancel.Store(true)
			return "", ctx.Err()
		}}
		bad := &op{name: "bad", exec: func(context.Context, []string) (string, error) {
			<-slowStarted
			return "", boom
		}}
		root := &op{name: "root"}
		rec := &recorder{}
		_, err := Solve(t.Context(), []*Vertex[string]{vtx(root, vtx(slow), vtx(bad))}, nil, Options{Jobs: 2, Events: rec.add})
		if !errors.Is(err, boom) || errors.Is(err, context.Canceled) {
			t.Fatalf("Solve error %v, want boom and not a cancellation", err)
		}
		var ve *VertexError
		if !errors.As(err, &ve) || ve.Vertex != "bad" || err.Error() != "bad: boom" {
			t.Errorf("error %q (%#v), want VertexError for bad", err, ve)
		}
		if !slowSawCancel.Load() {
			t.Error("the sibling was not cancelled")
		}
		if root.runs.Load() != 0 {
			t.Error("the parent of a failed vertex ran")
		}
		if s := rec.statuses("bad"); !slices.Equal(s, []Status{Started, Failed}) {
			t.Errorf("events of bad: %v", s)
		}
	})
}

func TestCacheHitSkipsSubtree(t *testing.T) {
	c := &memCache{}
	build := func(leafSalt string) (*Vertex[string], []*op) {
		l1, l2, mid, top := &op{name: "l1", salt: leafSalt}, &op{name: "l2"}, &op{name: "mid"}, &op{name: "top"}
		return vtx(top, vtx(mid, vtx(l1)), vtx(l2)), []*op{l1, l2, mid, top}
	}
	root, _ := build("")
	if _, err := Solve(t.Context(), []*Vertex[string]{root}, c, Options{}); err != nil {
		t.Fatal(err)
	}

	// Unchanged: only the root is loaded, nothing runs.
	c.loads = nil
	root, ops := build("")
	rec := &recorder{}
	got, err := Solve(t.Context(), []*Vertex[string]{root}, c, Options{Events: rec.add})
	if err != nil || got[0] != "top(mid(l1()),l2())" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, o := range ops {
		if o.runs.Load() != 0 {
			t.Errorf("%s ran despite a cache hit above it", o.name)
		}
	}
	if len(c.loads) != 1 {
		t.Errorf("%d cache loads, want only the root's", len(c.loads))
	}
	if s := rec.statuses("top"); !slices.Equal(s, []Status{Cached}) || len(rec.events) != 1 {
		t.Errorf("events %v, want one Cached for top", rec.events)
	}

	// l1 changed: l1, mid and top rerun; the l2 branch is a hit.
	root, ops = build("changed")
	got, err = Solve(t.Context(), []*Vertex[string]{root}, c, Options{})
	if err != nil || got[0] != "top(mid(l1()),l2())" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, o := range ops {
		want := int32(1)
		if o.name == "l2" {
			want = 0
		}
		if o.runs.Load() != want {
			t.Errorf("%s ran %d times, want %d", o.name, o.runs.Load(), want)
		}
	}
}

func TestCacheKeyErrorStopsBeforeExec(t *testing.T) {
	bad := &op{name: "bad", keyErr: errors.New("no such file")}
	other := &op{name: "other"}
	var events []string
	_, err := Solve(t.Context(), []*Vertex[string]{vtx(&op{name: "root"}, vtx(bad), vtx(other))}, nil, Options{
		Events: func(e Event) {
			ev := fmt.Sprintf("%s %v", e.Vertex, e.Status)
			if e.Err != nil {
				ev += ": " + e.Err.Error()
			}
			events = append(events, ev)
		},
	})
	if err == nil || err.Error() != "bad: no such file" {
		t.Errorf("error %v", err)
	}
	if other.runs.Load() != 0 {
		t.Error("an op ran although a key could not be computed")
	}
	// The progress shows the vertex whose key failed as a failed step.
	want := []string{fmt.Sprintf("bad %v", Started), fmt.Sprintf("bad %v: no such file", Failed)}
	if !slices.Equal(events, want) {
		t.Errorf("events %q, want %q", events, want)
	}
}

func TestCycleAndNilRefused(t *testing.T) {
	a := vtx(&op{name: "a"})
	b := vtx(&op{name: "b"}, a)
	a.Inputs = []*Vertex[string]{b}
	if _, err := Solve(t.Context(), []*Vertex[string]{a}, nil, Options{}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
	if _, err := Solve(t.Context(), []*Vertex[string]{{Name: "x"}}, nil, Options{}); err == nil || !strings.Contains(err.Error(), `"x" has no op`) {
		t.Errorf("nil op: %v", err)
	}
}

func TestParentCancel(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("interrupted")
	o := &op{name: "x", exec: func(ctx context.Context, _ []string) (string, error) {
		cancel(stop)
		<-ctx.Done()
		return "", ctx.Err()
	}}
	if _, err := Solve(ctx, []*Vertex[string]{vtx(o)}, nil, Options{}); !errors.Is(err, stop) {
		t.Errorf("error %v, want the parent's cause", err)
	}
}

func TestComputeKey(t *testing.T) {
	own := Key(sha256.Sum256([]byte("own")))
	in1, in2 := Key(sha256.Sum256([]byte("1"))), Key(sha256.Sum256([]byte("2")))
	// The exact encoding: salt, own, uvarint count, inputs.
	want := sha256.Sum256(slices.Concat([]byte("gorae/v1"), own[:], []byte{2}, in1[:], in2[:]))
	if got := ComputeKey(own, []Key{in1, in2}); got != want {
		t.Errorf("ComputeKey = %s, want %x", got, want)
	}
	distinct := map[Key]string{}
	for name, k := range map[string]Key{
		"no inputs":  ComputeKey(own, nil),
		"one zero":   ComputeKey(own, []Key{{}}),
		"1,2":        ComputeKey(own, []Key{in1, in2}),
		"2,1":        ComputeKey(own, []Key{in2, in1}),
		"other own":  ComputeKey(in1, []Key{in2}),
		"zero own":   ComputeKey(Key{}, nil),
		"zero own 0": ComputeKey(Key{}, []Key{{}}),
	} {
		if prev, dup := distinct[k]; dup {
			t.Errorf("%s and %s have the same key", name, prev)
		}
		distinct[k] = name
	}
	if s := own.String(); !strings.HasPrefix(s, "sha256:") || len(s) != 71 || own.IsZero() || !(Key{}).IsZero() {
		t.Errorf("String/IsZero: %s", s)
	}
	if Failed.String() != "failed" || Cached.String() != "cached" || fmt.Sprint(Status(9)) != "Status(9)" {
		t.Error("Status.String")
	}
}

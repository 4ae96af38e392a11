package bake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorae/gorae/bakefile"
)

// fakeBuilder records builds and publishes; a target named in fail
// fails, one in slow waits for ctx or 50 ms.
type fakeBuilder struct {
	mu        sync.Mutex
	order     []string
	deps      map[string][]Dep
	published []string
	fail      map[string]bool
	cached    map[string]bool
	slow      map[string]bool
	running   atomic.Int32
	peak      atomic.Int32
}

func (f *fakeBuilder) Build(ctx context.Context, t *bakefile.Target, deps []Dep) (Result, error) {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	f.mu.Lock()
	f.order = append(f.order, t.Name)
	if f.deps == nil {
		f.deps = map[string][]Dep{}
	}
	f.deps[t.Name] = deps
	f.mu.Unlock()
	wait := 5 * time.Millisecond
	if f.slow[t.Name] {
		wait = 2 * time.Second
	}
	select {
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-time.After(wait):
	}
	if f.fail[t.Name] {
		return Result{}, fmt.Errorf("RUN false: exit code 1")
	}
	return Result{Digest: "sha256:" + t.Name, Ref: "local/" + t.Name, Cached: f.cached[t.Name]}, nil
}

func (f *fakeBuilder) Publish(ctx context.Context, t *bakefile.Target, r Result) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, t.Name)
	return nil
}

// config makes targets from "name:dep,dep" specs (deps as target: contexts).
func config(specs ...string) *bakefile.Config {
	c := &bakefile.Config{Targets: map[string]*bakefile.Target{}}
	for _, s := range specs {
		name, deps, _ := strings.Cut(s, ":")
		t := &bakefile.Target{Name: name, DockerfileInline: "FROM scratch\n", Contexts: map[string]string{}}
		for _, d := range strings.Split(deps, ",") {
			if d != "" {
				t.Contexts[d+"-ctx"] = "target:" + d
			}
		}
		c.Targets[name] = t
	}
	return c
}

func plan(t *testing.T, specs ...string) *Graph {
	t.Helper()
	g, err := Plan(config(specs...))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// pushing makes every target of g push (what --push makes of them).
func pushing(g *Graph) *Graph {
	for _, t := range g.Targets {
		t.Outputs = []string{"type=image,push=true"}
	}
	return g
}

func statuses(r *Report) string {
	var out []string
	for _, o := range r.Outcomes {
		out = append(out, o.Target+"="+o.Status.String())
	}
	return strings.Join(out, " ")
}

// TestRunOrder: a target starts only after its dependencies, and gets
// their results under its context names.
func TestRunOrder(t *testing.T) {
	g := plan(t, "app:base,tools", "base:", "tools:base", "docs:")
	f := &fakeBuilder{cached: map[string]bool{"docs": true}}
	r := Run(t.Context(), g, f, Options{})
	if r.Failed() {
		t.Fatalf("failed: %s", statuses(r))
	}
	pos := func(n string) int { return slices.Index(f.order, n) }
	if !(pos("base") < pos("tools") && pos("tools") < pos("app")) {
		t.Errorf("build order %v", f.order)
	}
	want := []Dep{{Name: "base-ctx", Target: "base", Result: Result{Digest: "sha256:base", Ref: "local/base"}},
		{Name: "tools-ctx", Target: "tools", Result: Result{Digest: "sha256:tools", Ref: "local/tools"}}}
	if !reflect.DeepEqual(f.deps["app"], want) {
		t.Errorf("app's deps %+v, want %+v", f.deps["app"], want)
	}
	if got := statuses(r); !strings.Contains(got, "docs=cached") || !strings.Contains(got, "app=built") {
		t.Errorf("statuses %s", got)
	}
	if len(f.published) != 0 || r.Published || r.PushSkipped {
		t.Errorf("no target pushes, yet published %v", f.published)
	}
}

// TestRunMaxParallel: no more targets build at once than MaxParallel.
func TestRunMaxParallel(t *testing.T) {
	g := plan(t, "a:", "b:", "c:", "d:", "e:")
	f := &fakeBuilder{}
	Run(t.Context(), g, f, Options{MaxParallel: 2})
	if p := f.peak.Load(); p != 2 {
		t.Errorf("peak %d builds at once, want 2", p)
	}
	f = &fakeBuilder{}
	Run(t.Context(), g, f, Options{})
	if p := f.peak.Load(); p < 3 {
		t.Errorf("unbounded: peak %d builds at once, want all five together", p)
	}
}

// TestRunStopsAtFirstFailure: without --keep-going a failure cancels
// what is building and starts nothing more; nothing is pushed.
func TestRunStopsAtFirstFailure(t *testing.T) {
	g := pushing(plan(t, "bad:", "slow:", "after:bad", "later:slow"))
	f := &fakeBuilder{fail: map[string]bool{"bad": true}, slow: map[string]bool{"slow": true}}
	start := time.Now()
	r := Run(t.Context(), g, f, Options{})
	if time.Since(start) > time.Second {
		t.Errorf("the slow target was not canceled")
	}
	want := "bad=failed after=not started slow=canceled later=not started"
	if got := statuses(r); got != want {
		t.Errorf("statuses %q, want %q", got, want)
	}
	if len(f.published) != 0 || !r.PushSkipped || !r.Failed() {
		t.Errorf("published %v after a failure (skipped %v)", f.published, r.PushSkipped)
	}
	var buf bytes.Buffer
	r.WriteTable(&buf)
	for _, s := range []string{"TARGET", "bad", "failed", "not started", "bad failed: RUN false: exit code 1", "nothing pushed"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, buf.String())
		}
	}
}

// TestRunKeepGoing: --keep-going builds every target whose dependencies
// built; the failed one's dependents are not started; still nothing is
// pushed.
func TestRunKeepGoing(t *testing.T) {
	g := pushing(plan(t, "bad:", "ok:", "after:bad", "fine:ok"))
	f := &fakeBuilder{fail: map[string]bool{"bad": true}}
	r := Run(t.Context(), g, f, Options{KeepGoing: true})
	want := "bad=failed after=not started ok=built fine=built"
	if got := statuses(r); got != want {
		t.Errorf("statuses %q, want %q", got, want)
	}
	if len(f.published) != 0 {
		t.Errorf("published %v", f.published)
	}
}

// TestRunPushAll: with every target built, every target is published,
// once, after all builds.
func TestRunPushAll(t *testing.T) {
	g := pushing(plan(t, "a:", "b:a", "c:"))
	f := &fakeBuilder{}
	r := Run(t.Context(), g, f, Options{})
	slices.Sort(f.published)
	if !r.Published || !slices.Equal(f.published, []string{"a", "b", "c"}) {
		t.Errorf("published %v (%v)", f.published, r.PublishErr)
	}
	var buf bytes.Buffer
	r.WriteTable(&buf)
	if !strings.Contains(buf.String(), "pushed every target's tags") {
		t.Errorf("table:\n%s", buf.String())
	}
}

// TestRunInterrupted: Ctrl-C cancels the builds; nothing is published.
func TestRunInterrupted(t *testing.T) {
	g := pushing(plan(t, "slow:", "next:slow"))
	f := &fakeBuilder{slow: map[string]bool{"slow": true}}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	r := Run(ctx, g, f, Options{})
	if got := statuses(r); got != "slow=canceled next=not started" || len(f.published) != 0 {
		t.Errorf("statuses %q, published %v", got, f.published)
	}
	if !errors.Is(r.Outcomes[0].Err, context.Canceled) {
		t.Errorf("err %v", r.Outcomes[0].Err)
	}
}

package kubejob

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/bake"
	"github.com/gorae/gorae/bakefile"
	"github.com/gorae/gorae/internal/testutil"
)

var (
	goraeOnce sync.Once
	goraeBin  string
	goraeErr  error
)

// gorae builds the gorae binary once for the tests that run Jobs.
func gorae(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Jobs of the gorae binary")
	}
	goraeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kubejob-gorae")
		if err != nil {
			goraeErr = err
			return
		}
		goraeBin, goraeErr = testutil.BuildGorae(dir)
	})
	if goraeErr != nil {
		t.Fatalf("build gorae: %v", goraeErr)
	}
	return goraeBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if goraeBin != "" {
		os.RemoveAll(filepath.Dir(goraeBin))
	}
	os.Exit(code)
}

type fakeCluster struct {
	kube *testutil.FakeKube
	reg  *testutil.MemRegistry
	base string // the busybox base in the registry
	repo string
}

func newFakeCluster(t *testing.T) *fakeCluster {
	bin := gorae(t)
	c := &fakeCluster{kube: testutil.NewFakeKube(t, bin), reg: testutil.NewMemRegistry(t)}
	c.base = c.reg.Host + "/base/busybox:latest"
	testutil.PushBusybox(t, c.base)
	c.repo = c.reg.Host + "/bake/app"
	return c
}

func (c *fakeCluster) builder(t *testing.T, logs *[]string) *Builder {
	t.Helper()
	var mu sync.Mutex
	b, err := New(Options{
		Image: "gorae:test", Kubectl: c.kube.Kubectl, Namespace: "builds", Repo: c.repo,
		Registry: c.reg.Options, RegistrySecret: "-", Poll: 50 * time.Millisecond,
		Log: func(target, line string) {
			mu.Lock()
			defer mu.Unlock()
			if logs != nil {
				*logs = append(*logs, target+": "+line)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBuildJobs: two targets, app built FROM base's result through a
// target: context, each a Job of its own with a fresh root. The second
// run, on fresh roots again, executes nothing (the registry cache) and
// gives the same digests; Publish puts app under its tags, in the
// staging repository and in another one.
func TestBuildJobs(t *testing.T) {
	c := newFakeCluster(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"base/Dockerfile":   "FROM " + c.base + "\nRUN echo base > /base.txt\n",
		"app/Dockerfile":    "FROM base\nCOPY hello.txt /\nRUN cat /base.txt /hello.txt > /out.txt\n",
		"app/hello.txt":     "hello\n",
		"app/.dockerignore": "ignored\n",
		"app/ignored":       "x",
	})
	base := &bakefile.Target{Name: "base", Context: filepath.Join(dir, "base")}
	app := &bakefile.Target{Name: "app", Context: filepath.Join(dir, "app"), Contexts: map[string]string{"base": "target:base"},
		Tags: []string{c.repo + ":v1", c.reg.Host + "/other/app:v1"}}

	run := func(round int) (bake.Result, bake.Result) {
		ctx := t.Context()
		var logs []string
		b := c.builder(t, &logs)
		rb, err := b.Build(ctx, base, nil)
		if err != nil {
			t.Fatalf("round %d: base: %v", round, err)
		}
		ra, err := b.Build(ctx, app, []bake.Dep{{Name: "base", Target: "base", Result: rb}})
		if err != nil {
			t.Fatalf("round %d: app: %v", round, err)
		}
		if rb.Ref != c.repo || ra.Ref != c.repo || !strings.HasPrefix(ra.Digest, "sha256:") {
			t.Errorf("round %d: results %+v %+v", round, rb, ra)
		}
		if !strings.Contains(strings.Join(logs, "\n"), "app: #") {
			t.Errorf("round %d: no build log of app reached Log: %q", round, logs)
		}
		return rb, ra
	}
	b1, a1 := run(1)
	if b1.Cached || a1.Cached {
		t.Errorf("first run cached: base %v, app %v", b1.Cached, a1.Cached)
	}
	b2, a2 := run(2)
	if !b2.Cached || !a2.Cached {
		t.Errorf("second run on fresh roots executed steps: base cached %v, app cached %v", b2.Cached, a2.Cached)
	}
	if b1.Digest != b2.Digest || a1.Digest != a2.Digest {
		t.Errorf("digests changed: base %s → %s, app %s → %s", b1.Digest, b2.Digest, a1.Digest, a2.Digest)
	}

	jobs := c.kube.Jobs(t)
	if len(jobs) != 4 {
		t.Fatalf("%d Jobs, want 4", len(jobs))
	}
	homes := map[string]string{}
	for jn := range jobs {
		target := strings.Split(strings.TrimPrefix(jn, "gorae-"), "-")[0]
		node := c.kube.Node(t, jn)
		if homes[target] != "" && homes[target] != node {
			t.Errorf("target %s ran on %s and %s", target, homes[target], node)
		}
		homes[target] = node
		if log := c.kube.Log(t, jn); strings.Contains(log, "ignored") {
			t.Errorf("Job %s saw the ignored file:\n%s", jn, log)
		}
	}
	for _, call := range c.kube.Calls() {
		if !strings.HasSuffix(call, "--namespace=builds") {
			t.Errorf("kubectl %s: not in the namespace", call)
		}
	}

	// Nothing under the real tags until Publish.
	for _, tag := range app.Tags {
		ref, _ := c.reg.Options.Parse(tag)
		if _, err := remote.Head(ref); err == nil {
			t.Errorf("%s exists before Publish", tag)
		}
	}
	c.reg.Counts()
	if err := c.builder(t, nil).Publish(t.Context(), app, a2); err != nil {
		t.Fatal(err)
	}
	for _, tag := range app.Tags {
		ref, err := c.reg.Options.Parse(tag)
		if err != nil {
			t.Fatal(err)
		}
		d, err := remote.Head(ref)
		if err != nil || d.Digest.String() != a2.Digest {
			t.Errorf("%s after Publish: %v, %v; want %s", tag, d, err, a2.Digest)
		}
	}
	// Everything the other repository needs is in the registry already.
	if u, _ := c.reg.Counts(); u != 0 {
		t.Errorf("Publish uploaded %d blobs", u)
	}
}

// TestBuildJobFails: a failed step is an error naming the target and
// the Job, with the pod's last log lines.
func TestBuildJobFails(t *testing.T) {
	c := newFakeCluster(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM " + c.base + "\nRUN echo the-step-output && exit 3\n"})
	_, err := c.builder(t, nil).Build(t.Context(), &bakefile.Target{Name: "bad", Context: dir}, nil)
	if err == nil {
		t.Fatal("a failing RUN built")
	}
	for _, want := range []string{"target bad: Job gorae-bad-", "failed", "gorae exited 1", "last log lines:", "the-step-output"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestBuildJobCancel: cancelling a build deletes its Job, which stops
// the pod.
func TestBuildJobCancel(t *testing.T) {
	c := newFakeCluster(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM " + c.base + "\nRUN sleep 60\n"})
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("stopped by the test")
	go func() {
		// Once the pod runs.
		for range 600 {
			if len(c.kube.Jobs(t)) > 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Second)
		cancel(stop)
	}()
	start := time.Now()
	_, err := c.builder(t, nil).Build(ctx, &bakefile.Target{Name: "slow", Context: dir}, nil)
	if !errors.Is(err, stop) {
		t.Fatalf("error %v, want the cancel's cause", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("cancel took %s", time.Since(start))
	}
	// The pod ends by the delete, well before its RUN would.
	jobs := c.kube.Jobs(t)
	for jn := range jobs {
		for !c.kube.Exited(jn) {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("pod of %s still runs after the Job's delete", jn)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	deleted := false
	for _, call := range c.kube.Calls() {
		deleted = deleted || strings.HasPrefix(call, "delete job gorae-slow-") && strings.Contains(call, "--wait=false")
	}
	if !deleted {
		t.Errorf("no delete job: %s", fmt.Sprint(c.kube.Calls()))
	}
}

// TestBuildJobImageNotPullable: a pod whose image cannot be pulled fails
// the target soon, naming the reason and the image, and its Job is
// deleted, instead of waiting forever.
func TestBuildJobImageNotPullable(t *testing.T) {
	c := newFakeCluster(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM " + c.base + "\n"})
	b := c.builder(t, nil)
	b.o.Image = "reg.example/gorae:unpullable"
	start := time.Now()
	_, err := b.Build(t.Context(), &bakefile.Target{Name: "stuck", Context: dir, Tags: []string{c.repo + ":stuck"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "ImagePullBackOff") || !strings.Contains(err.Error(), "reg.example/gorae:unpullable") {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s to give up", time.Since(start))
	}
	for _, call := range c.kube.Calls() {
		if strings.HasPrefix(call, "delete job") {
			return
		}
	}
	t.Errorf("the stuck Job was not deleted: %v", c.kube.Calls())
}

// TestBuildJobFollowsLog: a Job's log lines reach Log while it runs,
// each once.
func TestBuildJobFollowsLog(t *testing.T) {
	c := newFakeCluster(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM " + c.base + "\nRUN echo step-started && sleep 3\n"})
	var mu sync.Mutex
	var seen time.Time
	var count int
	b, err := New(Options{
		Image: "gorae:test", Kubectl: c.kube.Kubectl, Repo: c.repo, Registry: c.reg.Options, RegistrySecret: "-", Poll: 50 * time.Millisecond,
		Log: func(target, line string) {
			mu.Lock()
			defer mu.Unlock()
			if strings.HasSuffix(line, " step-started") {
				count++
				if seen.IsZero() {
					seen = time.Now()
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(t.Context(), &bakefile.Target{Name: "slow", Context: dir}, nil); err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	mu.Lock()
	defer mu.Unlock()
	if count != 1 {
		t.Errorf("the RUN's line was relayed %d times", count)
	}
	if seen.IsZero() || end.Sub(seen) < 2*time.Second {
		t.Errorf("the line came %s before the Job ended, want it while the RUN sleeps", end.Sub(seen))
	}
}

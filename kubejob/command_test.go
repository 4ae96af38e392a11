package kubejob

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/gorae/gorae/bake"
	"github.com/gorae/gorae/bakefile"
)

func testCommand(t *testing.T, tg *bakefile.Target, deps []bake.Dep) command {
	t.Helper()
	staging, err := name.NewTag("reg.example/team/app:gorae-app-1234")
	if err != nil {
		t.Fatal(err)
	}
	return command{
		target: tg, deps: deps, staging: staging, uploaded: true,
		contextURL: "https://reg.example/v2/team/app/blobs/sha256:" + strings.Repeat("a", 64),
		named:      map[string]string{"assets": "https://reg.example/v2/team/app/blobs/sha256:" + strings.Repeat("b", 64)},
		cache:      "reg.example/team/app:buildcache-app",
	}
}

// TestArgs: the Job's gorae build command line carries the target's
// settings, its own registry cache, dependencies as image contexts by
// digest, uploaded named contexts by blob URL, a push to the staging
// tag only and the metadata as termination message.
func TestArgs(t *testing.T) {
	tg := &bakefile.Target{
		Name: "app", Args: map[string]string{"B": "2", "A": "1"}, Labels: map[string]string{"l": "v"},
		Target: "final", Platforms: []string{"linux/amd64", "linux/arm64"},
		Contexts: map[string]string{"base": "target:base", "assets": "./assets", "alpine": "docker-image://alpine:3"},
		Tags:     []string{"reg.example/team/app:1.0"},
		Outputs:  []string{"type=registry"},
	}
	deps := []bake.Dep{{Name: "base", Target: "base", Result: bake.Result{Ref: "reg.example/team/app", Digest: "sha256:" + strings.Repeat("c", 64)}}}
	got, err := testCommand(t, tg, deps).args()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"build", "--progress=plain", "-f", ".gorae-bake/Dockerfile",
		"--build-arg", "A=1", "--build-arg", "B=2", "--label", "l=v", "--target", "final",
		"--platform", "linux/amd64,linux/arm64",
		"-t", "reg.example/team/app:gorae-app-1234", "--push",
		"--cache-from", "type=registry,ref=reg.example/team/app:buildcache-app",
		"--cache-to", "type=registry,ref=reg.example/team/app:buildcache-app,mode=max",
		"--build-context", "alpine=docker-image://alpine:3",
		"--build-context", "assets=https://reg.example/v2/team/app/blobs/sha256:" + strings.Repeat("b", 64),
		"--build-context", "base=docker-image://reg.example/team/app@sha256:" + strings.Repeat("c", 64),
		"--metadata-file", "/dev/termination-log",
		"https://reg.example/v2/team/app/blobs/sha256:" + strings.Repeat("a", 64)}
	if !slices.Equal(got, want) {
		t.Errorf("args\n got %q\nwant %q", got, want)
	}
	if slices.Contains(got, "reg.example/team/app:1.0") {
		t.Error("the Job pushes to the target's tag: publishing must wait for every target")
	}
}

// TestArgsCaches: a target's own cache-from/cache-to replace the
// default cache.
func TestArgsCaches(t *testing.T) {
	tg := &bakefile.Target{Name: "app", CacheFrom: []string{"type=registry,ref=r/c:1"}, CacheTo: []string{"type=inline"}}
	got, err := testCommand(t, tg, nil).args()
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Join(got, " ")
	if !strings.Contains(s, "--cache-from type=registry,ref=r/c:1 --cache-to type=inline ") || strings.Contains(s, "buildcache-app") {
		t.Errorf("args %q", s)
	}
}

// TestArgsRefused: what cannot reach a pod is an error naming the
// target, not a build that silently lacks it.
func TestArgsRefused(t *testing.T) {
	for _, tc := range []struct {
		tg   bakefile.Target
		deps []bake.Dep
		want string
	}{
		{bakefile.Target{Name: "s", Secrets: []string{"id=x,src=f"}}, nil, "target s: secrets"},
		{bakefile.Target{Name: "h", SSH: []string{"default"}}, nil, "target h: ssh"},
		{bakefile.Target{Name: "o", Outputs: []string{"type=local,dest=out"}}, nil, `target o: output "type=local,dest=out"`},
		{bakefile.Target{Name: "l", Contexts: map[string]string{"x": "oci-layout://dir"}}, nil, "target l: context x=oci-layout://dir"},
		{bakefile.Target{Name: "d", Contexts: map[string]string{"x": "target:y"}}, nil, "target d: context x=target:y has no built dependency"},
	} {
		_, err := testCommand(t, &tc.tg, tc.deps).args()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.tg.Name, err, tc.want)
		}
	}
}

// TestJobSpec: the Job's JSON has the shape kubectl expects: one
// container of gorae's image with the rootful securityContext, the
// termination message from a file, a root on the node's disk,
// credentials from the Secret, no retries, and the target's two
// preferred nodes in rendezvous order.
func TestJobSpec(t *testing.T) {
	b, err := New(Options{Image: "reg.example/gorae:1"})
	if err != nil {
		t.Fatal(err)
	}
	nodes := rendezvous("app", []string{"n1", "n2", "n3"})
	raw, err := json.Marshal(b.makeJob("gorae-app-1", "app", []string{"build"}, nodes))
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	get := func(path ...any) any {
		var v any = j
		for _, p := range path {
			switch p := p.(type) {
			case string:
				v = v.(map[string]any)[p]
			case int:
				v = v.([]any)[p]
			}
		}
		return v
	}
	pod := []any{"spec", "template", "spec"}
	c := append(slices.Clone(pod), "containers", 0)
	checks := []struct {
		path []any
		want any
	}{
		{[]any{"apiVersion"}, "batch/v1"},
		{[]any{"kind"}, "Job"},
		{[]any{"metadata", "name"}, "gorae-app-1"},
		{[]any{"spec", "backoffLimit"}, 0.0},
		{append(slices.Clone(pod), "restartPolicy"), "Never"},
		{append(slices.Clone(c), "image"), "reg.example/gorae:1"},
		{append(slices.Clone(c), "terminationMessagePath"), "/dev/termination-log"},
		{append(slices.Clone(c), "terminationMessagePolicy"), "File"},
		{append(slices.Clone(c), "securityContext", "runAsUser"), 0.0},
		{append(slices.Clone(c), "securityContext", "seccompProfile", "localhostProfile"), "profiles/gorae.json"},
		{append(slices.Clone(c), "securityContext", "appArmorProfile", "type"), "Unconfined"},
		{append(slices.Clone(c), "env", 0, "value"), "/var/lib/gorae"},
		{append(slices.Clone(c), "env", 1, "value"), "/docker"},
		{append(slices.Clone(pod), "volumes", 1, "secret", "secretName"), "gorae-registry"},
		{append(slices.Clone(pod), "affinity", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution", 0, "weight"), 100.0},
		{append(slices.Clone(pod), "affinity", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution", 0, "preference", "matchExpressions", 0, "values", 0), nodes[0]},
		{append(slices.Clone(pod), "affinity", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution", 0, "preference", "matchExpressions", 0, "key"), "kubernetes.io/hostname"},
		{append(slices.Clone(pod), "affinity", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution", 1, "preference", "matchExpressions", 0, "values", 0), nodes[1]},
	}
	for _, ck := range checks {
		if got := get(ck.path...); got != ck.want {
			t.Errorf("%v = %v, want %v", ck.path, got, ck.want)
		}
	}
	caps := get(append(slices.Clone(c), "securityContext", "capabilities", "add")...).([]any)
	if !slices.Contains(caps, any("SYS_ADMIN")) || !slices.Contains(caps, any("NET_ADMIN")) {
		t.Errorf("capabilities %v lack SYS_ADMIN or NET_ADMIN", caps)
	}
	if len(get(append(slices.Clone(pod), "affinity", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution")...).([]any)) != 2 {
		t.Error("not two preferred nodes")
	}

	anon, err := New(Options{Image: "reg.example/gorae:1", RegistrySecret: "-"})
	if err != nil {
		t.Fatal(err)
	}
	jj := anon.makeJob("gorae-app-1", "app", nil, nil)
	if len(jj.Spec.Template.Spec.Volumes) != 1 || len(jj.Spec.Template.Spec.Containers[0].Env) != 1 || jj.Spec.Template.Spec.Affinity != nil {
		t.Errorf("without a Secret or nodes: volumes %v, env %v, affinity %v", jj.Spec.Template.Spec.Volumes, jj.Spec.Template.Spec.Containers[0].Env, jj.Spec.Template.Spec.Affinity)
	}
}

// TestJobName: Job names are DNS-1123 labels of at most 63 characters,
// unique per Job, naming the target.
func TestJobName(t *testing.T) {
	long := strings.Repeat("Very_Long.Target ", 10)
	a, b := jobName(long), jobName(long)
	if a == b || len(a) > 63 || !strings.HasPrefix(a, "gorae-very-long-target-") {
		t.Errorf("job names %q, %q", a, b)
	}
	for _, r := range a {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			t.Errorf("job name %q holds %q", a, r)
		}
	}
}

package main

import (
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// TestBakeKubernetes: gorae bake --kubernetes runs every target as a Job
// of a fake kubectl, whose pods are local gorae processes with roots of
// their own, sharing the test registry. base's result reaches app as a
// build context; the second run, on empty roots again, executes no step
// (every target cached, from its registry cache); --push tags both only
// at the end.
func TestBakeKubernetes(t *testing.T) {
	g := newGorae(t)
	kube := testutil.NewFakeKube(t, goraeBin)
	reg := testutil.Registry(t)
	base := reg + "/base/busybox:latest"
	testutil.PushBusybox(t, base)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"docker-bake.hcl": `variable "REG" {}
target "base" {
  context = "base"
  tags = ["${REG}/kb/base:1"]
}
target "app" {
  context = "app"
  contexts = { b = "target:base" }
  tags = ["${REG}/kb/app:1"]
}
group "default" {
  targets = ["app"]
}
`,
		"base/Dockerfile": "FROM " + base + "\nRUN echo from-base > /base.txt\n",
		"app/Dockerfile":  "FROM b\nCOPY msg.txt /\nRUN cat /base.txt /msg.txt > /out.txt\n",
		"app/msg.txt":     "hello\n",
	})
	g.Env = append(g.Env, "REG="+reg)
	args := []string{"bake", "--progress=plain", "--kubernetes", "--namespace", "builds", "--kubernetes-image", "gorae:test", "--kubernetes-secret", "-", "--max-jobs", "2"}
	r := g.Must(t, dir, args...)
	for _, target := range []string{"base", "app"} {
		if res, _ := rowOf(t, r.Stderr, target); res != "built" {
			t.Errorf("first run: %s %s", target, res)
		}
	}
	if n := len(kube.Jobs(t)); n != 2 {
		t.Errorf("%d Jobs, want 2", n)
	}
	if inRegistry(t, reg+"/kb/app:1") {
		t.Error("app tagged without --push")
	}
	_, d1 := rowOf(t, r.Stderr, "app")

	r = g.Must(t, dir, append(args, "--push")...)
	for _, target := range []string{"base", "app"} {
		if res, _ := rowOf(t, r.Stderr, target); res != "cached" {
			t.Errorf("second run on empty roots: %s %s:\n%s", target, res, r.Stderr)
		}
	}
	if _, d2 := rowOf(t, r.Stderr, "app"); d2 != d1 {
		t.Errorf("app's digest changed: %s → %s", d1, d2)
	}
	if !inRegistry(t, reg+"/kb/app:1") {
		t.Errorf("app not pushed:\n%s", r.Stderr)
	}
	if inRegistry(t, reg+"/kb/base:1") {
		t.Error("base pushed, though only app's target: context asked for it (buildx pushes it not either)")
	}
	if !strings.Contains(r.Stderr, "[app] Kubernetes Job") {
		t.Errorf("no step per Job:\n%s", r.Stderr)
	}
}

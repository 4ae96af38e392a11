package main

import (
	"context"

	"github.com/gorae/gorae/bake"
	"github.com/gorae/gorae/bakefile"
	"github.com/gorae/gorae/kubejob"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
)

// bakeKubernetes runs the bake's targets as Kubernetes Jobs (kubejob):
// at most --max-jobs at once, each shown as one step.
func bakeKubernetes(ctx context.Context, f *bakeFlags, g *bake.Graph, printer *progress.Printer) error {
	kb, err := kubejob.New(kubejob.Options{
		Namespace: f.namespace, Image: f.image, Repo: f.repo, RegistrySecret: f.secret,
		Registry: registry.Options{Insecure: f.insecure},
		Log:      func(target, line string) { printer.Target(target).Logf("%s", line) },
	})
	if err != nil {
		return usageError{err}
	}
	rep := bake.Run(ctx, g, &jobSteps{kb, printer}, bake.Options{KeepGoing: f.keepGoing, MaxParallel: f.maxJobs})
	return finishBake(ctx, f, rep, printer)
}

// jobSteps shows each target's Job as a step of the progress output.
type jobSteps struct {
	b *kubejob.Builder
	p *progress.Printer
}

func (j *jobSteps) Build(ctx context.Context, t *bakefile.Target, deps []bake.Dep) (bake.Result, error) {
	s := j.p.Target(t.Name).Step("Kubernetes Job")
	r, err := j.b.Build(ctx, t, deps)
	s.End(err)
	return r, err
}

func (j *jobSteps) Publish(ctx context.Context, t *bakefile.Target, r bake.Result) error {
	s := j.p.Target(t.Name).Step("pushing " + t.Name)
	err := j.b.Publish(ctx, t, r)
	s.End(err)
	return err
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/semaphore"

	"github.com/gorae/gorae/bake"
	"github.com/gorae/gorae/bakefile"
	"github.com/gorae/gorae/builder"
	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/gc"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
)

// bakeFlags are `gorae bake`'s flags.
type bakeFlags struct {
	files     []string
	sets      []string
	push      bool
	noCache   bool
	pull      bool
	progress  string
	metadata  string
	print     bool
	list      string
	jobs      int
	keepGoing bool
	insecure  []string

	kubernetes bool
	namespace  string
	maxJobs    int
	image      string
	repo       string
	secret     string
}

func runBake(ctx context.Context, args []string) error {
	fs := newFlags("bake", "[OPTIONS] [TARGET|GROUP...]")
	f := &bakeFlags{}
	fs.StringArrayVarP(&f.files, "file", "f", nil, "bake or compose file (repeatable; later files override earlier; - reads stdin; default: compose.yaml, docker-bake.hcl… as buildx looks them up)")
	fs.StringArrayVar(&f.sets, "set", nil, "override a target's value: TARGETPATTERN.KEY=VALUE or KEY+=VALUE, e.g. *.platform=linux/arm64 or app.args.V=2 (repeatable)")
	fs.BoolVar(&f.push, "push", false, "push every target's image once every target built (nothing is pushed if one fails)")
	fs.BoolVar(&f.noCache, "no-cache", false, "do not use the build cache for any target")
	fs.BoolVar(&f.pull, "pull", false, "always ask the registry for base images")
	fs.StringVar(&f.progress, "progress", "auto", "progress output: auto, plain, tty, json or quiet")
	fs.StringVar(&f.metadata, "metadata-file", "", "write every target's build metadata (JSON keyed by target, as buildx) to this file")
	fs.BoolVar(&f.print, "print", false, "print the resolved targets as JSON and build nothing")
	fs.StringVar(&f.list, "list", "", "list targets or variables and build nothing: targets or variables")
	fs.IntVarP(&f.jobs, "jobs", "j", 0, "steps run at once over all targets (default 16, or the number of CPUs if more)")
	fs.BoolVar(&f.keepGoing, "keep-going", false, "after a target fails, build every target that does not depend on it (default: stop at the first failure)")
	fs.StringArrayVar(&f.insecure, "insecure-registry", nil, "talk plain HTTP to this registry host[:port]")
	fs.Bool("load", false, "accepted for buildx compatibility: gorae always stores the images locally")
	fs.BoolVar(&f.kubernetes, "kubernetes", false, "build each target as a Kubernetes Job through kubectl (docs/kubernetes-bake.md)")
	fs.StringVar(&f.namespace, "namespace", "", "--kubernetes: the Jobs' namespace (default: kubectl's current one)")
	fs.IntVar(&f.maxJobs, "max-jobs", 0, "--kubernetes: Jobs running at once (default: every ready target)")
	fs.StringVar(&f.image, "kubernetes-image", os.Getenv("GORAE_IMAGE"), "--kubernetes: gorae's own image the Jobs run, e.g. REGISTRY/gorae:TAG (make image; default $GORAE_IMAGE)")
	fs.StringVar(&f.repo, "repo", "", "--kubernetes: repository for contexts, caches and staged images (default: each target's first tag's repository)")
	fs.StringVar(&f.secret, "kubernetes-secret", "", `--kubernetes: the pods' registry credentials Secret (default gorae-registry; "-" for none)`)
	if err := parse(fs, args); err != nil {
		return err
	}
	if f.jobs < 0 {
		return usagef("invalid --jobs %d: use a positive number of steps", f.jobs)
	}
	if f.maxJobs < 0 {
		return usagef("invalid --max-jobs %d: use a positive number of Jobs", f.maxJobs)
	}
	if !f.kubernetes {
		for _, k := range []string{"namespace", "max-jobs", "kubernetes-image", "repo", "kubernetes-secret"} {
			if fs.Changed(k) {
				return usagef("--%s is for --kubernetes builds only", k)
			}
		}
	}
	if !slices.Contains(progress.Modes, f.progress) {
		return usagef("invalid --progress %q (use %s)", f.progress, strings.Join(progress.Modes, ", "))
	}
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	files, err := bakefile.ReadLocalFiles(f.files, cwd, os.Stdin)
	if err != nil {
		return err
	}
	lo := bakefile.Options{Dir: cwd, Overrides: f.sets}
	if f.push {
		// As buildx: --push is --set *.push=true (image outputs push;
		// --print shows it), after the user's own --set values.
		lo.Overrides = append(slices.Clone(f.sets), "*.push=true")
	}
	if f.list != "" {
		if f.list != "targets" && f.list != "variables" {
			return usagef("invalid --list %q: use targets or variables", f.list)
		}
		return bakefile.List(os.Stdout, files, lo, f.list)
	}
	cfg, err := bakefile.Load(files, fs.Args(), lo)
	if err != nil {
		return err
	}
	for _, t := range cfg.Targets { // as buildx: the flags override every target
		if f.noCache {
			t.NoCache = &f.noCache
		}
		if f.pull {
			t.Pull = &f.pull
		}
	}
	if f.print {
		return cfg.Print(os.Stdout)
	}
	g, err := bake.Plan(cfg)
	if err != nil {
		return err
	}
	if len(g.Targets) == 0 {
		return errors.New("no targets to build: the files define no target (a Compose service needs a build section)")
	}
	// Every target's values are made options (and checked) before any
	// builds, so a typo in the last one does not cancel the others
	// midway.
	opts := map[string]builder.Options{}
	if !f.kubernetes {
		var errs []error
		for _, t := range g.Targets {
			o, err := targetOptions(t)
			if err != nil {
				errs = append(errs, err)
			}
			opts[t.Name] = o
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	printer, err := progress.New(os.Stderr, f.progress)
	if err != nil {
		return usageError{err}
	}
	defer printer.Close()
	if f.kubernetes {
		return bakeKubernetes(ctx, f, g, printer)
	}
	r, err := openRoot()
	if err != nil {
		return err
	}
	defer r.Close()
	// Held for the whole bake: a result waits unnamed (an untagged
	// target) or unpushed between its build and its dependents' builds
	// or the push, where another process's prune must not take it.
	unlock, err := r.Lock(ctx, false)
	if err != nil {
		return err
	}
	lb := &localBake{
		root: r, printer: printer, registry: registry.Options{Insecure: f.insecure},
		slots: semaphore.NewWeighted(int64(jobSlots(f.jobs))), opts: opts, results: map[string]*builder.Result{},
	}
	rep := bake.Run(ctx, g, lb, bake.Options{KeepGoing: f.keepGoing})
	unlock()
	err = finishBake(ctx, f, rep, printer)
	if !r.Outside {
		gc.Auto(ctx, r, printer)
	}
	return err
}

// finishBake closes the progress output, prints the end table, writes
// --metadata-file and returns the bake's error.
func finishBake(ctx context.Context, f *bakeFlags, rep *bake.Report, printer *progress.Printer) error {
	printer.Close()
	if f.progress != "quiet" {
		rep.WriteTable(os.Stderr)
	}
	if f.metadata != "" {
		if err := writeBakeMetadata(f.metadata, rep); err != nil {
			return err
		}
	}
	return bakeError(ctx, rep)
}

// jobSlots is -j: the steps of all targets that run at once.
func jobSlots(jobs int) int {
	if jobs > 0 {
		return jobs
	}
	return max(16, runtime.NumCPU())
}

// writeBakeMetadata writes --metadata-file: every built target's
// metadata under its name, as buildx bake writes it.
func writeBakeMetadata(path string, rep *bake.Report) error {
	md := map[string]any{}
	for _, o := range rep.Outcomes {
		if o.Result.Metadata != nil {
			md[o.Target] = o.Result.Metadata
		}
	}
	b, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	if err := content.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write --metadata-file: %w", err)
	}
	return nil
}

// bakeError is the bake's error when a target failed or was not built
// (exit 1), or ctx's when interrupted (exit 130).
func bakeError(ctx context.Context, rep *bake.Report) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if rep.PublishErr != nil {
		return rep.PublishErr
	}
	n := 0
	for _, o := range rep.Outcomes {
		if o.Status != bake.Built && o.Status != bake.Cached {
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("%d of %d targets did not build", n, len(rep.Outcomes))
	}
	return nil
}

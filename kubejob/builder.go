package kubejob

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/gorae/gorae/bake"
	"github.com/gorae/gorae/bakefile"
	"github.com/gorae/gorae/gitsource"
)

// Builder runs each target as a Kubernetes Job; it implements
// bake.Builder.
type Builder struct {
	o Options
	k kubectl

	nodesOnce sync.Once
	nodes     []string
}

var _ bake.Builder = (*Builder)(nil)

// New checks o and returns a Builder. It talks to neither the cluster
// nor the registry yet.
func New(o Options) (*Builder, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	return &Builder{o: o, k: kubectl{bin: o.Kubectl, global: o.KubectlArgs, namespace: o.Namespace}}, nil
}

func (b *Builder) log(target, line string) {
	if b.o.Log != nil {
		b.o.Log(target, line)
	}
}

// Build uploads the target's contexts, runs its Job and returns the
// staged image: Ref is the staging repository, Digest what the Job
// pushed, Cached whether no step executed.
func (b *Builder) Build(ctx context.Context, t *bakefile.Target, deps []bake.Dep) (bake.Result, error) {
	repo, err := b.repoFor(t)
	if err != nil {
		return bake.Result{}, err
	}
	c, err := b.prepare(ctx, t, deps, repo)
	if err != nil {
		return bake.Result{}, err
	}
	args, err := c.args()
	if err != nil {
		return bake.Result{}, err
	}
	jn := c.staging.TagStr()
	j := b.makeJob(jn, t.Name, args, rendezvous(t.Name, b.getNodes(ctx)))
	body, err := json.Marshal(j)
	if err != nil {
		return bake.Result{}, err
	}
	if _, err := b.k.run(ctx, bytes.NewReader(body), "create", "-f", "-"); err != nil {
		return bake.Result{}, fmt.Errorf("target %s: create Job: %w", t.Name, err)
	}
	b.log(t.Name, "Job "+jn+" created")
	f := b.follow(ctx, t.Name, jn)
	failed, why, err := b.wait(ctx, jn)
	relayed := f.stop()
	if err != nil {
		return bake.Result{}, fmt.Errorf("target %s: Job %s: %w", t.Name, jn, err)
	}
	if failed {
		return bake.Result{}, b.failure(ctx, t.Name, jn, why)
	}
	if b.o.Log != nil {
		// What the stream missed: its end, or all of it when the pod
		// ran and ended between two tries.
		lines, err := b.logs(ctx, jn, 0)
		if err != nil {
			b.log(t.Name, "warning: "+err.Error())
		}
		for _, l := range lines[min(relayed, len(lines)):] {
			b.log(t.Name, l)
		}
	}
	term, err := b.termination(ctx, jn)
	if err != nil {
		return bake.Result{}, fmt.Errorf("target %s: %w", t.Name, err)
	}
	md, err := parseMetadata(term.message)
	if err != nil {
		return bake.Result{}, fmt.Errorf("target %s: Job %s: %w", t.Name, jn, err)
	}
	if !b.o.KeepJobs {
		b.deleteJob(jn)
	}
	meta := map[string]any{"containerimage.digest": md.Digest, "gorae.kubernetes.job": jn}
	if len(t.Tags) > 0 {
		meta["image.name"] = strings.Join(t.Tags, ",")
	}
	return bake.Result{Digest: md.Digest, Ref: repo.Name(), Cached: md.Executed != nil && *md.Executed == 0, Metadata: meta}, nil
}

// failure is the error of a failed Job: what Kubernetes says, the
// container's exit, and the pod's last log lines.
func (b *Builder) failure(ctx context.Context, target, jn, why string) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "target %s: Job %s failed", target, jn)
	if why != "" {
		fmt.Fprintf(&sb, " (%s)", why)
	}
	if term, err := b.termination(ctx, jn); err == nil {
		fmt.Fprintf(&sb, "; pod %s", term.pod)
		if term.node != "" {
			fmt.Fprintf(&sb, " on %s", term.node)
		}
		fmt.Fprintf(&sb, ": gorae exited %d", term.exitCode)
		if term.reason != "" && term.reason != "Error" {
			fmt.Fprintf(&sb, " (%s)", term.reason)
		}
	}
	lines, err := b.logs(ctx, jn, logTail)
	switch {
	case err != nil:
		fmt.Fprintf(&sb, "; no log: %v", err)
	case len(lines) > 0:
		fmt.Fprintf(&sb, "; last log lines:\n  %s", strings.Join(lines, "\n  "))
	}
	fmt.Fprintf(&sb, "\n(kubectl describe job %s; the Job stays an hour)", jn)
	return fmt.Errorf("%s", sb.String())
}

// repoFor is the repository of the target's context, cache and staged
// image: Options.Repo, else the repository of its first tag.
func (b *Builder) repoFor(t *bakefile.Target) (name.Repository, error) {
	ref := b.o.Repo
	if ref == "" {
		names := bake.Names(t)
		if len(names) == 0 {
			return name.Repository{}, fmt.Errorf("target %s has no tags, so no repository for its context, cache and image: give gorae bake --repo REGISTRY/REPOSITORY", t.Name)
		}
		r, err := b.o.Registry.Parse(names[0])
		if err != nil {
			return name.Repository{}, fmt.Errorf("target %s: tag: %w", t.Name, err)
		}
		return r.Context(), nil
	}
	r, err := b.o.Registry.Parse(ref + ":x")
	if err != nil {
		return name.Repository{}, err
	}
	return r.Context(), nil
}

// prepare uploads the target's local contexts and names its staging tag
// and cache.
func (b *Builder) prepare(ctx context.Context, t *bakefile.Target, deps []bake.Dep, repo name.Repository) (command, error) {
	jn := jobName(t.Name)
	if err := bake.FillCacheRefs(t, repo.Name()); err != nil {
		return command{}, err
	}
	c := command{
		target:   t,
		deps:     deps,
		named:    map[string]string{},
		staging:  repo.Tag(jn),
		cache:    bake.CacheRef(t, repo.Name()), // the ref a local bake gives the target too
		insecure: b.o.Registry.Insecure,
	}
	dir := t.Context
	if dir == "" {
		dir = "."
	}
	if urlContext(dir) {
		c.contextURL = dir
	} else {
		blob, err := mainContext(dir, t.Dockerfile, t.DockerfileInline, "")
		if err != nil {
			return c, fmt.Errorf("target %s: %w", t.Name, err)
		}
		defer os.Remove(blob.path)
		if err := uploadBlob(ctx, b.o.Registry, repo, blob); err != nil {
			return c, fmt.Errorf("target %s: %w", t.Name, err)
		}
		c.contextURL, c.uploaded = blobURL(repo, blob.digest), true
	}
	for k, v := range t.Contexts {
		if strings.Contains(v, "://") || strings.HasPrefix(v, "target:") || strings.HasPrefix(v, "service:") || urlContext(v) || depNamed(deps, k) {
			continue
		}
		blob, err := namedContext(v, "")
		if err != nil {
			return c, fmt.Errorf("target %s: context %s: %w", t.Name, k, err)
		}
		err = uploadBlob(ctx, b.o.Registry, repo, blob)
		os.Remove(blob.path)
		if err != nil {
			return c, fmt.Errorf("target %s: context %s: %w", t.Name, k, err)
		}
		c.named[k] = blobURL(repo, blob.digest)
	}
	return c, nil
}

func depNamed(deps []bake.Dep, k string) bool {
	for _, d := range deps {
		if d.Name == k {
			return true
		}
	}
	return false
}

// urlContext reports whether a context is a URL gorae build fetches itself
// (git, or an http(s) tarball) rather than a directory here.
func urlContext(s string) bool {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return true
	}
	if fi, err := os.Stat(s); err == nil && fi.IsDir() {
		return false
	}
	return gitsource.IsGit(s)
}

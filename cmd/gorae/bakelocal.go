package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gorae/gorae/bake"
	"github.com/gorae/gorae/bakefile"
	"github.com/gorae/gorae/builder"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
	"golang.org/x/sync/semaphore"
)

// localBake builds bake targets in this process, on one root: every
// target is a builder.Build sharing the step slots (-j) and the cache, so
// a step two targets share executes once (the other waits on its key's
// claim, then finds it cached).
type localBake struct {
	root     *root.Root
	printer  *progress.Printer
	registry registry.Options
	slots    *semaphore.Weighted
	opts     map[string]builder.Options // by target (targetOptions)

	mu      sync.Mutex
	results map[string]*builder.Result
}

var _ bake.Builder = (*localBake)(nil)

func (l *localBake) Build(ctx context.Context, t *bakefile.Target, deps []bake.Dep) (bake.Result, error) {
	o := l.opts[t.Name]
	o.Progress = l.printer.Target(t.Name)
	o.Registry, o.Slots, o.NoAutoGC = l.registry, l.slots, true
	for _, d := range deps {
		if o.Contexts == nil {
			o.Contexts = map[string]string{}
		}
		o.Contexts[d.Name] = "docker-image://" + d.Result.Ref + "@" + d.Result.Digest
	}
	res, err := builder.Build(ctx, l.root, o)
	if err != nil {
		return bake.Result{}, err
	}
	md, err := res.Metadata()
	if err != nil {
		return bake.Result{}, err
	}
	l.mu.Lock()
	l.results[t.Name] = res
	l.mu.Unlock()
	// An untagged result is found by digest; the name only has to be one.
	ref := "gorae-bake/" + repoComponent(t.Name)
	if len(res.Names) > 0 {
		ref, _, _ = strings.Cut(res.Names[0], "@")
	}
	return bake.Result{Digest: res.Digest.String(), Ref: ref, Cached: res.Executed == 0, Metadata: md}, nil
}

// Publish pushes the target's image (or index) to every tag: after every
// target built (--push is all-or-nothing).
func (l *localBake) Publish(ctx context.Context, t *bakefile.Target, r bake.Result) error {
	l.mu.Lock()
	res := l.results[t.Name]
	l.mu.Unlock()
	if len(res.Names) == 0 {
		return fmt.Errorf("target %q: nothing to push to: give it tags, or an output name= (type=registry,name=REGISTRY/REPO:TAG)", t.Name)
	}
	p := l.printer.Target(t.Name)
	if res.Index != nil {
		return images.PushIndex(ctx, l.root.Content, res.Index, res.Names, l.registry, p)
	}
	return images.PushImage(ctx, l.root.Content, res.Image, res.Names, l.registry, p)
}

// targetOptions are the builder options of one bake target: what `gorae
// build` would get from the same values as flags. Errors name the target
// and the field.
func targetOptions(t *bakefile.Target) (builder.Options, error) {
	bad := func(field string, err error) error {
		return fmt.Errorf("target %q: %s: %w", t.Name, field, unwrapUsage(err))
	}
	ctxDir := t.Context
	if ctxDir == "" {
		ctxDir = "."
	}
	o := builder.Options{
		ContextDir: ctxDir, Tags: t.Tags, BuildArgs: t.Args, Labels: t.Labels,
		Target: t.Target, Platforms: t.Platforms,
		NoCacheFilter: t.NoCacheFilter, Allow: t.Entitlements,
	}
	switch {
	case t.DockerfileInline != "":
		o.Dockerfile, o.Stdin = "-", strings.NewReader(t.DockerfileInline)
	case t.Dockerfile != "" && !filepath.IsAbs(t.Dockerfile) && !builder.IsRemoteContext(ctxDir):
		o.Dockerfile = filepath.Join(ctxDir, t.Dockerfile) // relative to the context, as buildx reads it
	default:
		o.Dockerfile = t.Dockerfile
	}
	for _, out := range t.Outputs {
		// The local store has the image anyway; a push waits for every
		// target (Publish), so an output that pushes only names it here.
		if bake.CacheOnlyOutput(out) {
			continue
		}
		o.Outputs = append(o.Outputs, withoutPush(out))
	}
	if bake.CacheOnly(t) {
		o.Tags = nil // built for its dependents only: it names nothing, as in buildx
	}
	if o.Dockerfile != "-" && !builder.IsRemoteContext(ctxDir) {
		df := o.Dockerfile
		if df == "" {
			df = filepath.Join(ctxDir, "Dockerfile")
		}
		if _, err := os.Stat(df); err != nil {
			return o, fmt.Errorf("target %q: no Dockerfile at %s: create it, or set the target's dockerfile (relative to its context %s) or dockerfile-inline", t.Name, df, ctxDir)
		}
	}
	if t.Pull != nil {
		o.Pull = *t.Pull
	}
	if t.NoCache != nil {
		o.NoCache = *t.NoCache
	}
	for _, tag := range t.Tags {
		if err := checkTag(tag); err != nil {
			return o, bad("tags", fmt.Errorf("invalid tag %s: %w", tag, err))
		}
	}
	if len(t.Contexts) > 0 {
		o.Contexts = map[string]string{}
		for k, v := range t.Contexts {
			if !strings.HasPrefix(v, "target:") { // the scheduler's results replace these
				o.Contexts[k] = v
			}
		}
		if err := checkBuildContexts(o.Contexts); err != nil {
			return o, bad("contexts", err)
		}
	}
	if err := bake.FillCacheRefs(t, ""); err != nil {
		return o, err
	}
	var err error
	if o.CacheTo, o.CacheFrom, err = cacheSpecs(t.CacheTo, t.CacheFrom); err != nil {
		return o, bad("cache-to/cache-from", err)
	}
	if o.Epoch, err = sourceDateEpoch(t.Args); err != nil {
		return o, bad("args", err)
	}
	if o.Secrets, err = parseSecrets(t.Secrets, os.LookupEnv); err != nil {
		return o, bad("secret", err)
	}
	if o.SSH, err = parseSSH(t.SSH, os.LookupEnv); err != nil {
		return o, bad("ssh", err)
	}
	if o.Attest, err = (&attestFlags{attests: t.Attest}).config(); err != nil {
		return o, bad("attest", err)
	}
	x := &buildExtras{network: t.Network, addHosts: t.ExtraHosts, shmSize: t.ShmSize, ulimits: t.Ulimits, annotations: t.Annotations, call: "build"}
	if x.network == "" {
		x.network = "default"
	}
	if err := x.parse(); err != nil {
		return o, bad("network/extra-hosts/shm-size/ulimits/annotations", err)
	}
	x.apply(&o)
	return o, nil
}

// repoComponent is a target name as a repository path component:
// lower case, runs of other characters as one "-", none at the ends.
func repoComponent(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "target"
	}
	return b.String()
}

// withoutPush is an output spec that names the image as spec does but
// does not push it: type=registry becomes type=image, push=true goes.
func withoutPush(spec string) string {
	fields := strings.Split(spec, ",")
	out := fields[:0]
	for _, f := range fields {
		switch strings.TrimSpace(f) {
		case "type=registry":
			f = "type=image"
		case "push=true":
			continue
		}
		out = append(out, f)
	}
	return strings.Join(out, ",")
}

// unwrapUsage drops the usage marker: in a bake file, a bad value is the
// file's error (exit 1), not the command line's.
func unwrapUsage(err error) error {
	if ue, ok := err.(usageError); ok {
		return ue.error
	}
	return err
}

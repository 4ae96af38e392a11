package builder

import (
	"context"

	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/root"
)

// CheckResult is what BuildKit's build checks (`--call check`) found.
type CheckResult struct {
	File     string // the Dockerfile's display name
	Source   []byte // its content, for the excerpts
	Warnings []frontend.Warning
	// Err is why the Dockerfile cannot be built: a check that failed
	// under "# check=error=true", or any other error of the
	// conversion. The warnings found before it are kept.
	Err error
}

// definition reads the Dockerfile of o as a build would (a remote build
// context is fetched first), under a shared lock of the root that the
// returned unlock releases. imageCtx are the image build contexts.
func definition(ctx context.Context, r *root.Root, o Options) (_ Options, src []byte, name string, imageCtx map[string]string, unlock func(), err error) {
	if unlock, err = r.Lock(ctx, false); err != nil {
		return o, nil, "", nil, nil, err
	}
	defer func() {
		if err != nil {
			unlock()
		}
	}()
	var srcs contextSources
	if o, srcs, err = remoteContexts(ctx, r, o); err != nil {
		return o, nil, "", nil, nil, err
	}
	imageCtx = srcs.images
	src, name, err = readDockerfile(o)
	return o, src, name, imageCtx, unlock, err
}

// Check runs the build checks over the Dockerfile without building
// anything: it converts every stage (only the target's with a target),
// resolving base images as a build does, and collects the linter's
// findings. Warnings that are no check (unused build args, an ignored
// syntax directive) go to the progress output as usual.
func Check(ctx context.Context, r *root.Root, o Options) (*CheckResult, error) {
	o, src, name, imageCtx, unlock, err := definition(ctx, r, o)
	if err != nil {
		return nil, err
	}
	defer unlock()
	excludes, _, err := readExcludes(o)
	if err != nil {
		return nil, err
	}
	plats, err := images.ParsePlatforms(o.Platforms)
	if err != nil {
		return nil, badFlag(err)
	}
	fo, err := convertOptions(r, o, imageCtx, name, src, excludes, plats[0], false)
	if err != nil {
		return nil, err
	}
	fo.AllStages = o.Target == ""
	res := &CheckResult{File: name, Source: src}
	fo.Warn = func(w frontend.Warning) {
		if w.Rule != "" {
			res.Warnings = append(res.Warnings, w)
		} else if o.Progress != nil {
			o.Progress.Warnf("%s", w.Msg)
		}
	}
	_, res.Err = frontend.Convert(ctx, fo)
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return res, nil
}

// Outline reads the target's build args, secrets and ssh ids
// (`--call outline`).
func Outline(ctx context.Context, r *root.Root, o Options) (*frontend.Outline, error) {
	o, src, name, _, unlock, err := definition(ctx, r, o)
	if err != nil {
		return nil, err
	}
	defer unlock()
	plats, err := images.ParsePlatforms(o.Platforms)
	if err != nil {
		return nil, badFlag(err)
	}
	return frontend.MakeOutline(name, src, o.Target, o.BuildArgs, images.HostPlatform(), plats[0])
}

// Targets lists the Dockerfile's stages (`--call targets`).
func Targets(ctx context.Context, r *root.Root, o Options) ([]frontend.Target, error) {
	_, src, name, _, unlock, err := definition(ctx, r, o)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return frontend.Targets(name, src)
}

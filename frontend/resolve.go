package frontend

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/imageconfig"
)

// pins resolves each (image, platform) once per build and shares the
// source nodes of COPY --from images and build contexts.
type pins struct {
	resolver ImageResolver
	images   map[string]pinned
	nodes    map[string]*graph.Node
	main     *graph.Node // the main build context, made on first use
}

type pinned struct {
	img *ResolvedImage
	err error
}

type pinRequest struct {
	ref      string // normalized
	platform v1.Platform
}

func pinKey(ref string, p v1.Platform) string { return ref + " " + platformString(p) }

// prefetch resolves the distinct requests concurrently, so a build with
// several base images waits for the slowest registry round trip only.
// Results, errors included, are kept for resolve.
func (p *pins) prefetch(ctx context.Context, reqs []pinRequest) {
	var todo []pinRequest
	seen := map[string]bool{}
	for _, r := range reqs {
		key := pinKey(r.ref, r.platform)
		if _, ok := p.images[key]; !ok && !seen[key] {
			seen[key] = true
			todo = append(todo, r)
		}
	}
	results := make([]pinned, len(todo))
	var wg sync.WaitGroup
	for i, r := range todo {
		wg.Go(func() {
			img, err := p.call(ctx, r.ref, r.platform)
			results[i] = pinned{img, err}
		})
	}
	wg.Wait()
	for i, r := range todo {
		p.images[pinKey(r.ref, r.platform)] = results[i]
	}
}

func (p *pins) resolve(ctx context.Context, ref string, platform v1.Platform) (*ResolvedImage, error) {
	key := pinKey(ref, platform)
	if r, ok := p.images[key]; ok {
		return r.img, r.err
	}
	img, err := p.call(ctx, ref, platform)
	p.images[key] = pinned{img, err}
	return img, err
}

func (p *pins) call(ctx context.Context, ref string, platform v1.Platform) (*ResolvedImage, error) {
	if p.resolver == nil {
		return nil, fmt.Errorf("no image resolver configured to pin %s", ref)
	}
	img, err := p.resolver.Resolve(ctx, ref, platform)
	if err != nil {
		return nil, err
	}
	if img == nil || img.Config == nil {
		return nil, fmt.Errorf("resolve %s: resolver returned no config", ref)
	}
	return img, nil
}

// normalizeRef names an image the way Docker does: "busybox" is
// "docker.io/library/busybox:latest".
func normalizeRef(ref string) (string, error) {
	name, digest, hasDigest := strings.Cut(ref, "@")
	repo, tag, hasTag := name, "", false
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo, tag, hasTag = name[:i], name[i+1:], true
	}
	domain, path, ok := strings.Cut(repo, "/")
	if !ok || !strings.ContainsAny(domain, ".:") && domain != "localhost" {
		domain, path = "docker.io", repo
	}
	if domain == "docker.io" && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	switch {
	case strings.ToLower(path) != path:
		return "", fmt.Errorf("invalid reference format: repository name (%s) must be lowercase", path)
	case !repoPath().MatchString(path):
		return "", fmt.Errorf("invalid reference format: %q", ref)
	case hasTag && !validTag(tag):
		return "", fmt.Errorf("invalid reference format: bad tag in %q", ref)
	case hasDigest && !validDigest(digest, "sha256:64"):
		return "", fmt.Errorf("invalid reference format: bad digest in %q", ref)
	}
	if tag == "" && !hasDigest {
		tag = "latest"
	}
	out := domain + "/" + path
	if tag != "" {
		out += ":" + tag
	}
	if hasDigest {
		out += "@" + digest
	}
	return out, nil
}

// resolveStages pins the base images of the stages the target needs,
// then adds ONBUILD triggers, which may need further stages, until
// nothing changes. It returns the needed stages.
func (c *converter) resolveStages(ctx context.Context, target *stage) (map[*stage]bool, error) {
	onbuildDone := map[*stage]bool{}
	for {
		live := reachable(target)
		if c.o.AllStages {
			for _, s := range c.stages {
				maps.Copy(live, reachable(s))
			}
		}
		c.pins.prefetch(ctx, c.pinRequests(live))
		for _, s := range c.stages {
			if live[s] && s.base == nil && s.baseCfg == nil {
				if err := c.resolveBase(ctx, s); err != nil {
					return nil, err
				}
			}
		}
		for _, name := range sortedKeys(c.external) {
			if s := c.external[name]; live[s] && s.state == nil {
				if err := c.resolveExternal(ctx, s); err != nil {
					return nil, err
				}
			}
		}
		grew := false
		for _, s := range c.stages {
			if !live[s] || onbuildDone[s] {
				continue
			}
			onbuildDone[s] = true
			deps := len(s.deps)
			if err := c.addTriggers(s); err != nil {
				return nil, err
			}
			grew = grew || len(s.deps) > deps
		}
		if !grew {
			return live, nil
		}
	}
}

// pinRequests lists the images the live stages and sources still need.
func (c *converter) pinRequests(live map[*stage]bool) []pinRequest {
	var reqs []pinRequest
	add := func(s *stage) {
		name := s.def.BaseName
		if name == "scratch" || c.o.Contexts[name] {
			return
		}
		if ref, err := normalizeRef(name); err == nil {
			reqs = append(reqs, pinRequest{ref, s.platform})
		}
	}
	for _, s := range c.stages {
		if live[s] && s.base == nil && s.baseCfg == nil {
			add(s)
		}
	}
	for _, name := range sortedKeys(c.external) {
		if s := c.external[name]; live[s] && s.state == nil {
			add(s)
		}
	}
	return reqs
}

// resolveBase pins the image a stage starts from.
func (c *converter) resolveBase(ctx context.Context, s *stage) error {
	line := startLine(s.def.Location)
	name := s.def.BaseName
	if name == "scratch" {
		s.baseCfg = emptyConfig(s.platform)
		return nil
	}
	if c.o.Contexts[name] {
		return c.src.errorf(line, "FROM %s: build context %q can only be used by COPY --from and RUN --mount from=; FROM needs an image or a stage", name, name)
	}
	ref, err := normalizeRef(name)
	if err != nil {
		return c.src.errorf(line, "failed to parse stage name %q: %v", name, err)
	}
	img, err := c.pinnedImage(ctx, name, ref, s, line)
	if err != nil {
		return err
	}
	cfg := img.Config.DeepCopy()
	cfg.Created = v1.Time{}
	s.baseCfg = cfg
	if !scratchLike(cfg) {
		s.def.BaseName = pinnedName(img)
		if cfg.OS != s.platform.OS || cfg.Architecture != s.platform.Architecture {
			c.lint.Run(&linter.RuleInvalidBaseImagePlatform, s.def.Location, linter.RuleInvalidBaseImagePlatform.Format(name, platformString(s.platform), cfg.OS+"/"+cfg.Architecture))
		}
		s.baseNode = &graph.Node{Op: graph.Image{Ref: img.Ref, Digest: img.Digest, Platform: platformString(s.platform)}, Pos: graph.Pos{File: c.o.File, Line: line}}
	}
	return nil
}

// pinnedName names a base image in step names: NAME@DIGEST as resolved,
// or NAME@DIGEST as the Dockerfile pinned it (an index's digest, where
// the resolved one is the platform's image), as BuildKit shows it.
func pinnedName(img *ResolvedImage) string {
	if strings.Contains(img.Ref, "@") {
		return img.Ref
	}
	return img.Ref + "@" + img.Digest
}

// scratchLike reports an image without any layer, which BuildKit treats
// as scratch.
func scratchLike(cfg *imageconfig.File) bool {
	if len(cfg.RootFS.DiffIDs) > 0 {
		return false
	}
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			return false
		}
	}
	return true
}

// resolveExternal makes the node of a COPY --from / mount from= source that
// is no stage: a build context, scratch or an image.
func (c *converter) resolveExternal(ctx context.Context, s *stage) error {
	name := s.def.BaseName
	if n, ok := c.pins.nodes[name]; ok {
		s.state = &state{node: n}
		return nil
	}
	var n *graph.Node
	switch {
	case c.o.Contexts[name]:
		n = &graph.Node{Op: graph.Context{Name: name}, Name: fmt.Sprintf("[context %s] load from client", name)}
	case name == "scratch":
		n = &graph.Node{Op: graph.Scratch{}}
	default:
		line := startLine(s.def.Location)
		ref, err := normalizeRef(name)
		if err != nil {
			return c.src.errorf(line, "%q is neither a stage, a build context nor a valid image name: %v", name, err)
		}
		img, err := c.pinnedImage(ctx, name, ref, s, line)
		if err != nil {
			return err
		}
		n = &graph.Node{
			Op:   graph.Image{Ref: img.Ref, Digest: img.Digest, Platform: platformString(s.platform)},
			Name: "FROM " + pinnedName(img),
		}
	}
	c.pins.nodes[name] = n
	s.state = &state{node: n}
	return nil
}

// addTriggers runs ONBUILD: the triggers of the base image's config, or
// the ONBUILD instructions of the base stage, become the stage's first
// commands, located at its FROM line.
// pinnedImage resolves an image named in the Dockerfile for stage s; a
// failure names the line and suggests a stage whose name is close.
func (c *converter) pinnedImage(ctx context.Context, name, ref string, s *stage, line int) (*ResolvedImage, error) {
	img, err := c.pins.resolve(ctx, ref, s.platform)
	if err != nil {
		msg := fmt.Sprintf("%s: %v", name, err)
		if m := suggest(name, c.stageNames()); m != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", m)
		}
		e := c.src.at(line, msg)
		e.Err = err
		return nil, e
	}
	return img, nil
}

func (c *converter) addTriggers(s *stage) error {
	var triggers []string
	if s.base == nil {
		if s.baseCfg != nil {
			triggers = s.baseCfg.Config.OnBuild
		}
	} else {
		for _, cmd := range s.base.commands {
			if ob, ok := cmd.Command.(*instructions.OnbuildCommand); ok && !cmd.onbuild {
				triggers = append(triggers, ob.Expression)
			}
		}
	}
	line := startLine(s.def.Location)
	var cmds []command
	for _, t := range triggers {
		ast, err := parser.Parse(strings.NewReader(t))
		if err != nil {
			return c.src.errorf(line, "ONBUILD trigger %q: %v", t, err)
		}
		if len(ast.AST.Children) != 1 {
			return c.src.errorf(line, "onbuild trigger should be a single expression: %q", t)
		}
		node := ast.AST.Children[0]
		node.StartLine, node.EndLine = line, line
		ic, err := instructions.ParseCommand(node)
		if err != nil {
			return c.src.errorf(line, "ONBUILD trigger %q: %v", t, stripParsePrefix(err))
		}
		cmd, err := c.toCommand(s, ic)
		if err != nil {
			return err
		}
		cmd.onbuild = true
		cmds = append(cmds, cmd)
	}
	s.commands = append(cmds, s.commands...)
	return nil
}

func stripParsePrefix(err error) string {
	msg := err.Error()
	if m := parseErrorPrefix().FindString(msg); m != "" {
		return msg[len(m):]
	}
	return msg
}

// emptyConfig is the config of FROM scratch, as BuildKit makes it.
func emptyConfig(p v1.Platform) *imageconfig.File {
	cfg := &imageconfig.File{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion}
	cfg.RootFS.Type = "layers"
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = []string{"PATH=" + defaultPath}
	return cfg
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

package frontend

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"

	"github.com/gorae/gorae/graph"
)

// converter holds what one Convert call learns about the Dockerfile.
type converter struct {
	o        Options
	src      source
	lint     *linter.Linter
	lex      *shell.Lex
	global   envList                        // global scope: platform args and ARGs before FROM
	declared map[string]bool                // keys of the ARGs before FROM
	consumed map[string]bool                // --build-arg keys an ARG declared
	ignore   *patternmatcher.PatternMatcher // o.Excludes; nil when there are none
	stages   []*stage
	byName   map[string]*stage
	external map[string]*stage // COPY --from / mount from= names that are no stage
	// extraStates counts the states BuildKit registers besides the stages;
	// stage names appear in progress labels unless the build has one state.
	extraStates int
	pins        pins
}

// Convert turns o.Source into the build graph of the target stage and the
// target image's config. Only the stages the target needs are converted
// and only their base images are resolved.
func Convert(ctx context.Context, o Options) (*Result, error) {
	if o.File == "" {
		o.File = "Dockerfile"
	}
	o.Platform = defaultPlatform(o.Platform)
	o.BuildPlatform = defaultPlatform(o.BuildPlatform)
	c := &converter{
		o:        o,
		src:      newSource(o.File, o.Source),
		consumed: map[string]bool{},
		byName:   map[string]*stage{},
		external: map[string]*stage{},
		pins:     pins{resolver: o.Resolver, images: map[string]pinned{}, nodes: map[string]*graph.Node{}},
	}
	return c.convert(ctx)
}

func (c *converter) convert(ctx context.Context) (*Result, error) {
	if len(bytes.TrimSpace(c.o.Source)) == 0 {
		return nil, c.src.errorf(0, "the Dockerfile is empty; it needs at least a FROM instruction")
	}
	if err := c.setupLinter(); err != nil {
		return nil, err
	}
	if len(c.o.Excludes) > 0 {
		m, err := patternmatcher.New(c.o.Excludes)
		if err != nil {
			return nil, c.src.errorf(0, "invalid .dockerignore pattern: %v", err)
		}
		c.ignore = m
	}
	c.checkSyntax()
	ast, err := parser.Parse(bytes.NewReader(c.o.Source))
	if err != nil {
		return nil, c.src.wrap(err, 0)
	}
	for _, w := range ast.Warnings {
		if w.URL == linter.RuleNoEmptyContinuation.URL && w.Location != nil {
			c.lint.Run(&linter.RuleNoEmptyContinuation, []parser.Range{*w.Location}, linter.RuleNoEmptyContinuation.Format())
		}
	}
	defs, argCmds, err := instructions.Parse(ast.AST, c.lint)
	if err != nil {
		err = c.src.wrap(err, 0)
		if fe, ok := err.(*Error); ok && fe.Msg == "no build stage in current context" {
			fe.Msg += ": the Dockerfile must start with FROM (only ARG may come before it)"
		}
		return nil, err
	}
	if len(defs) == 0 {
		return nil, c.src.errorf(0, "the Dockerfile has no FROM instruction, so there is no stage to build")
	}
	validateStageNames(defs, c.lint)
	validateCommandCasing(defs, c.lint)

	c.lex = shell.NewLex(ast.EscapeToken)
	targetName := c.o.Target
	if targetName == "" {
		targetName = defs[len(defs)-1].Name
	}
	c.global = platformArgs(c.o.BuildPlatform, c.o.Platform, targetName, c.o.BuildArgs)
	c.checkDefaultFromArgs(defs, argCmds)
	c.global, c.declared, err = metaArgs(c.global, c.lex, argCmds, c.o.BuildArgs, c.src)
	if err != nil {
		return nil, err
	}
	for k := range c.declared {
		c.consumed[k] = true
	}
	if err := c.newStages(defs); err != nil {
		return nil, err
	}
	target, err := c.findTarget()
	if err != nil {
		return nil, err
	}
	if err := c.linkCommands(); err != nil {
		return nil, err
	}
	for i, s := range c.stages {
		s.name = stageDisplayName(s, i)
	}
	if err := c.checkCycles(); err != nil {
		return nil, err
	}
	if len(c.stages) == 1 && c.extraStates == 0 {
		c.stages[0].name = ""
	}
	live, err := c.resolveStages(ctx, target)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, s := range c.stages {
		if !live[s] {
			continue
		}
		n++
		if err := c.dispatchStage(s); err != nil {
			return nil, err
		}
	}
	if err := c.lint.Error(); err != nil {
		how := "the check directive sets error=true"
		if _, ok := c.o.BuildArgs[LintArg]; ok {
			how = "--build-arg " + LintArg + " sets error=true"
		}
		return nil, c.src.errorf(0, "%v (%s)", err, how)
	}
	if unused := unusedBuildArgs(c.o.BuildArgs, c.consumed); len(unused) > 0 {
		c.warn(Warning{File: c.o.File, Msg: fmt.Sprintf("[Warning] One or more build-args %v were not consumed", unused)})
	}
	return c.result(target, n), nil
}

func (c *converter) findTarget() (*stage, error) {
	if c.o.Target == "" {
		return c.stages[len(c.stages)-1], nil
	}
	if s, ok := c.findStage(c.o.Target); ok {
		return s, nil
	}
	names := c.stageNames()
	msg := fmt.Sprintf("target stage %q could not be found", c.o.Target)
	if m := suggest(strings.ToLower(c.o.Target), names); m != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", m)
	}
	if len(names) == 0 {
		return nil, c.src.errorf(0, "%s; the Dockerfile has no named stages (name one with FROM … AS NAME)", msg)
	}
	return nil, c.src.errorf(0, "%s; stages are: %s", msg, strings.Join(names, ", "))
}

// result assembles the target's config: the stage's config with the
// base image's history only (our entries are returned separately), an
// empty RootFS, the --label values and the target platform.
func (c *converter) result(target *stage, stages int) *Result {
	st := target.state
	cfg := st.cfg.DeepCopy()
	cfg.RootFS = v1.RootFS{}
	if len(c.o.Labels) > 0 {
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		maps.Copy(cfg.Config.Labels, c.o.Labels)
	}
	if p := c.o.Platform; !c.o.PlatformImplicit || cfg.OS == "" || cfg.Architecture == "" {
		sameOSArch := cfg.OS == p.OS && cfg.Architecture == p.Architecture
		cfg.OS, cfg.Architecture = p.OS, p.Architecture
		if p.Variant != "" || !sameOSArch {
			cfg.Variant = p.Variant
		}
		if p.OSVersion != "" || !sameOSArch {
			cfg.OSVersion = p.OSVersion
		}
	}
	res := &Result{
		Stage:       target.label(),
		Root:        st.node,
		Config:      cfg,
		History:     slices.Clone(st.history),
		Stages:      stages,
		Names:       c.stageNames(),
		ScanContext: c.sbomScan(target, sbomScanContext),
	}
	need := reachable(target)
	for _, s := range c.stages {
		if s != target && need[s] && s.state != nil && c.sbomScan(s, sbomScanStage) {
			res.ScanStages = append(res.ScanStages, ScanStage{Name: s.label(), Root: s.state.node})
		}
	}
	return res
}

const (
	sbomScanStage   = "BUILDKIT_SBOM_SCAN_STAGE"
	sbomScanContext = "BUILDKIT_SBOM_SCAN_CONTEXT"
)

// sbomScan says whether the arg key (BUILDKIT_SBOM_SCAN_STAGE or
// _CONTEXT) enables scanning for stage s, as BuildKit reads it: a global
// value (a --build-arg or an ARG before FROM), overridden by the stage's
// own ARG; true/false, or a comma-separated list of stage names.
func (c *converter) sbomScan(s *stage, key string) bool {
	v, ok := c.global.Get(key)
	if !ok {
		v, ok = c.o.BuildArgs[key]
	}
	if s.state != nil {
		for _, a := range s.state.args { // not in the environment (nonEnvArgs)
			if a.Key == key && a.Value != nil {
				v, ok = *a.Value, true
			}
		}
	}
	if !ok {
		return false
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return slices.Contains(strings.Split(v, ","), s.def.Name)
}

func (c *converter) warn(w Warning) {
	if c.o.Warn != nil {
		c.o.Warn(w)
	}
}

// LintArg is the build arg that configures the build checks in place of
// the Dockerfile's check directive, as in BuildKit, e.g.
// --build-arg BUILDKIT_DOCKERFILE_CHECK=skip=all.
const LintArg = "BUILDKIT_DOCKERFILE_CHECK"

// CheckLintArg checks a BUILDKIT_DOCKERFILE_CHECK value.
func CheckLintArg(v string) error {
	if _, err := linter.ParseLintOptions(v); err != nil {
		return fmt.Errorf("invalid --build-arg %s=%s: %v; use e.g. skip=RULE,RULE;error=true", LintArg, v, err)
	}
	return nil
}

// setupLinter reads the check directive (or the LintArg build arg,
// which replaces it) and routes findings to o.Warn.
func (c *converter) setupLinter() error {
	opts, _, loc, _ := parser.ParseDirective("check", c.o.Source)
	if v, ok := c.o.BuildArgs[LintArg]; ok {
		if err := CheckLintArg(v); err != nil {
			return err
		}
		opts = v
	}
	cfg, err := linter.ParseLintOptions(opts)
	if err != nil {
		return c.src.errorf(startLine(loc), "parse check directive: %v", err)
	}
	cfg.Warn = func(rule, _, url, msg string, loc []parser.Range) {
		var lines [][2]int
		for _, r := range loc {
			lines = append(lines, [2]int{r.Start.Line, max(r.Start.Line, r.End.Line)})
		}
		c.warn(Warning{File: c.o.File, Line: startLine(loc), Rule: rule, Msg: msg, URL: url, Lines: lines})
	}
	c.lint = linter.New(cfg)
	return nil
}

// checkSyntax warns about a syntax directive naming another frontend: gorae
// always uses its built-in one, which follows docker/dockerfile:1.
func (c *converter) checkSyntax() {
	ref, _, loc, ok := parser.DetectSyntax(c.o.Source)
	if !ok || isDockerfileV1(ref) {
		return
	}
	c.warn(Warning{File: c.o.File, Line: startLine(loc), Msg: fmt.Sprintf("syntax directive %q ignored: gorae uses its built-in Dockerfile frontend (docker/dockerfile:1)", ref)})
}

func isDockerfileV1(ref string) bool {
	ref, _, _ = strings.Cut(ref, "@")
	for _, p := range []string{"docker.io/docker/dockerfile:", "docker/dockerfile:"} {
		if tag, ok := strings.CutPrefix(ref, p); ok {
			return tag == "1" || strings.HasPrefix(tag, "1.") && !strings.Contains(tag, "-")
		}
	}
	return false
}

package frontend

import (
	"fmt"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/imageconfig"
)

// stage is one FROM block, or an external source (an image or build
// context named only by COPY --from / RUN --mount from=).
type stage struct {
	index    int
	def      instructions.Stage // BaseName and Platform expanded
	name     string             // progress prefix; "" when the build has one stage
	base     *stage             // FROM names an earlier stage
	platform v1.Platform
	multi    bool // one of several target platforms: labels name the platform
	commands []command
	deps     []dep // stages this one reads, in order of first use
	external bool
	state    *state            // nil until dispatched (or resolved, for externals)
	baseCfg  *imageconfig.File // resolved base image config (stages without base)
	baseNode *graph.Node       // its filesystem; nil for scratch
}

// command is an instruction with the stages it reads from.
type command struct {
	instructions.Command
	sources []*stage // per COPY --from, or per RUN --mount (nil = none)
	onbuild bool
}

type dep struct {
	stage *stage
	cmd   instructions.Command
}

// label is how errors and Result.Stage name the stage.
func (s *stage) label() string {
	if s.def.Name != "" {
		return s.def.Name
	}
	return strconv.Itoa(s.index)
}

func (s *stage) addDep(d *stage, cmd instructions.Command) {
	for _, x := range s.deps {
		if x.stage == d {
			return
		}
	}
	s.deps = append(s.deps, dep{d, cmd})
}

// newStages expands every FROM with the global args and links stages
// that are based on earlier ones.
func (c *converter) newStages(defs []instructions.Stage) error {
	for i, def := range defs {
		lint := c.lint.WithMergedConfigFromComments(def.Comments)
		line := startLine(def.Location)
		res, err := c.lex.ProcessWordWithMatches(def.BaseName, c.global)
		if err != nil {
			return c.src.wrap(err, line)
		}
		c.reportUndeclaredFromArgs(res.Unmatched, def.Location, lint)
		if res.Result == "" {
			return c.src.errorf(line, "base name (%s) should not be blank; give the ARG a default or pass it with --build-arg", def.BaseName)
		}
		def.BaseName = res.Result
		s := &stage{index: i, def: def, platform: c.o.Platform, multi: c.o.MultiPlatform}
		if def.Platform != "" {
			p, err := c.expandPlatform(def, lint)
			if err != nil {
				return err
			}
			s.platform = p
		}
		if b, ok := c.byName[strings.ToLower(def.BaseName)]; ok {
			s.base = b
			s.platform = b.platform // BuildKit ignores --platform on FROM stage
		}
		if def.Name != "" {
			c.byName[def.Name] = s
		}
		c.stages = append(c.stages, s)
	}
	return nil
}

func (c *converter) expandPlatform(def instructions.Stage, lint *linter.Linter) (v1.Platform, error) {
	line := startLine(def.Location)
	res, err := c.lex.ProcessWordWithMatches(def.Platform, c.global)
	if err != nil {
		return v1.Platform{}, c.src.wrap(err, line)
	}
	c.reportUndeclaredFromArgs(res.Unmatched, def.Location, lint)
	if _, ok := res.Matched["TARGETPLATFORM"]; ok && len(res.Matched) == 1 && len(res.Unmatched) == 0 {
		if tp, _ := c.global.Get("TARGETPLATFORM"); res.Result == tp {
			lint.Run(&linter.RuleRedundantTargetPlatform, def.Location, linter.RuleRedundantTargetPlatform.Format(def.Platform))
		}
	}
	if len(res.Matched) == 0 && len(res.Unmatched) == 0 {
		if p, err := v1.ParsePlatform(res.Result); err == nil && !strings.Contains(def.Name, p.OS) && !strings.Contains(def.Name, p.Architecture) {
			lint.Run(&linter.RuleFromPlatformFlagConstDisallowed, def.Location, linter.RuleFromPlatformFlagConstDisallowed.Format(res.Result))
		}
	}
	if res.Result == "" {
		return v1.Platform{}, c.src.errorf(line, "empty platform value from expression %s", def.Platform)
	}
	p, err := v1.ParsePlatform(res.Result)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, c.src.errorf(line, "failed to parse platform %s: %q is not os/arch[/variant]", def.Platform, res.Result)
	}
	return *p, nil
}

func (c *converter) reportUndeclaredFromArgs(unmatched map[string]struct{}, loc []parser.Range, lint *linter.Linter) {
	known := c.global.Keys()
	known = append(known, sortedKeys(c.declared)...)
	for _, arg := range sortedKeys(unmatched) {
		if c.declared[arg] {
			continue
		}
		if _, ok := c.global.Get(arg); ok {
			continue
		}
		lint.Run(&linter.RuleUndefinedArgInFrom, loc, linter.RuleUndefinedArgInFrom.Format(arg, suggest(arg, known)))
	}
}

// findStage looks a stage up by name (case-insensitive) or index.
func (c *converter) findStage(ref string) (*stage, bool) {
	s, ok := c.byName[strings.ToLower(ref)]
	return s, ok
}

// linkCommands wraps every instruction with the stages it reads from,
// creating external sources for names that are no stage.
func (c *converter) linkCommands() error {
	for _, s := range c.stages {
		for _, ic := range s.def.Commands {
			cmd, err := c.toCommand(s, ic)
			if err != nil {
				return err
			}
			s.commands = append(s.commands, cmd)
		}
	}
	return nil
}

func (c *converter) toCommand(s *stage, ic instructions.Command) (command, error) {
	cmd := command{Command: ic}
	line := startLine(ic.Location())
	switch ic := ic.(type) {
	case *instructions.CopyCommand:
		if ic.From == "" {
			break
		}
		res, err := c.lex.ProcessWordWithMatches(ic.From, shell.EnvsFromSlice(nil))
		if err != nil {
			return cmd, c.src.wrap(err, line)
		}
		if res.Result != ic.From {
			return cmd, c.src.errorf(line, "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround")
		}
		var src *stage
		if idx, err := strconv.Atoi(ic.From); err == nil {
			if idx < 0 || idx >= len(c.stages) {
				return cmd, c.src.errorf(line, "invalid stage index %d: the Dockerfile has stages 0 to %d", idx, len(c.stages)-1)
			}
			src = c.stages[idx]
		} else if src = c.sourceStage(ic.From, ic.Location()); src.external {
			c.extraStates++
		}
		cmd.sources = []*stage{src}
		s.addDep(src, ic)
	case *instructions.RunCommand:
		for _, m := range instructions.GetMounts(ic) {
			c.extraStates++ // BuildKit registers a state per mount
			if m.From == "" {
				cmd.sources = append(cmd.sources, nil)
				continue
			}
			src := c.sourceStage(m.From, ic.Location())
			cmd.sources = append(cmd.sources, src)
			s.addDep(src, ic)
		}
	}
	return cmd, nil
}

// sourceStage is the stage called name, or the external source of that name.
func (c *converter) sourceStage(name string, loc []parser.Range) *stage {
	if s, ok := c.findStage(name); ok {
		return s
	}
	if s, ok := c.external[name]; ok {
		return s
	}
	s := &stage{index: -1, external: true, platform: c.o.Platform, multi: c.o.MultiPlatform}
	s.def.BaseName = name
	s.def.Location = loc // errors resolving it point at the first use
	c.external[name] = s
	return s
}

// checkCycles rejects stages that (indirectly) read from themselves.
func (c *converter) checkCycles() error {
	visited := map[*stage]bool{}
	onPath := map[*stage]bool{}
	var visit func(s *stage, path []instructions.Command) []instructions.Command
	visit = func(s *stage, path []instructions.Command) []instructions.Command {
		if visited[s] {
			return nil
		}
		visited[s] = true
		onPath[s] = true
		for _, d := range s.deps {
			next := append(path, d.cmd)
			if onPath[d.stage] {
				return next
			}
			if p := visit(d.stage, next); p != nil {
				return p
			}
		}
		onPath[s] = false
		return nil
	}
	for _, s := range c.stages {
		if p := visit(s, nil); p != nil {
			return c.src.errorf(startLine(p[0].Location()), "circular dependency detected on stage: %s", s.name)
		}
	}
	return nil
}

// reachable is the set of stages the target needs, in file order.
func reachable(target *stage) map[*stage]bool {
	out := map[*stage]bool{}
	var add func(s *stage)
	add = func(s *stage) {
		if out[s] {
			return
		}
		out[s] = true
		if s.base != nil {
			add(s.base)
		}
		for _, d := range s.deps {
			add(d.stage)
		}
	}
	add(target)
	return out
}

// cmdTotal counts the steps the progress labels number: FROM an image,
// then every ADD, COPY, RUN and WORKDIR, including ONBUILD triggers.
func (s *stage) cmdTotal() int {
	n := 0
	if s.def.BaseName != "scratch" && s.base == nil {
		n++
	}
	for _, cmd := range s.commands {
		switch cmd.Command.(type) {
		case *instructions.AddCommand, *instructions.CopyCommand, *instructions.RunCommand, *instructions.WorkdirCommand:
			n++
		default:
			if cmd.onbuild {
				n++
			}
		}
	}
	return n
}

func (c *converter) stageNames() []string {
	var names []string
	for _, s := range c.stages {
		if s.def.Name != "" {
			names = append(names, s.def.Name)
		}
	}
	return names
}

func stageDisplayName(s *stage, i int) string {
	if s.def.Name != "" {
		return s.def.Name
	}
	return fmt.Sprintf("stage-%d", i)
}

package frontend

import (
	"bytes"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Target is one stage, as `--call targets` lists it.
type Target struct {
	Name        string // "" for an unnamed stage
	Description string // the comment above FROM that starts with the name
	Default     bool   // the last stage, built without --target
	Base        string
	Line        int
}

// Targets lists the Dockerfile's stages as BuildKit's ListTargets does.
func Targets(file string, src []byte) ([]Target, error) {
	stages, _, err := parseStages(file, src)
	if err != nil {
		return nil, err
	}
	var out []Target
	for i, s := range stages {
		out = append(out, Target{
			Name: s.Name, Description: s.DocComment, Default: i == len(stages)-1,
			Base: s.BaseName, Line: startLine(s.Location),
		})
	}
	return out, nil
}

// OutlineItem is one build arg, secret or ssh id of an Outline.
type OutlineItem struct {
	Name        string
	Value       string // build args: the value the build would use
	Description string // build args: the comment above ARG that starts with the name
	Required    bool   // secrets and ssh: required=true
	Line        int
}

// Outline is what `--call outline` shows of the target: the build args
// its stages use, and the secrets and ssh sockets their RUN steps mount.
type Outline struct {
	Name        string
	Description string
	Args        []OutlineItem
	Secrets     []OutlineItem
	SSH         []OutlineItem
}

type outliner struct {
	stages  []instructions.Stage
	lex     *shell.Lex
	global  mapEnv
	auto    mapEnv                // the automatic platform args
	globals map[string]outlineArg // ARGs before the first FROM
	build   map[string]string     // --build-arg
	seen    map[string]bool       // args, secrets and ssh ids already listed
	out     *Outline
}

type outlineArg struct {
	item OutlineItem
	deps []string // global ARGs its default uses
}

// MakeOutline reads the target's outline (target "" is the last stage)
// from the Dockerfile alone, as BuildKit's outline subrequest does:
// ARGs declared in the target and every stage it depends on (base, COPY
// --from, RUN --mount from=), global ARGs their FROM lines use, with
// --build-arg values over defaults.
// The automatic platform args (TARGETARCH…) of buildPlatform and
// platform are in scope, as in a build: a global default may use them,
// and a stage's ARG naming one without a default inherits it and, as in
// BuildKit, is not listed.
func MakeOutline(file string, src []byte, target string, buildArgs map[string]string, buildPlatform, platform v1.Platform) (*Outline, error) {
	stages, metaArgs, err := parseStages(file, src)
	if err != nil {
		return nil, err
	}
	ast, _ := parser.Parse(bytes.NewReader(src))
	o := &outliner{
		stages: stages, lex: shell.NewLex(ast.EscapeToken), global: mapEnv{},
		globals: map[string]outlineArg{}, build: buildArgs, seen: map[string]bool{},
	}
	stage := target
	if stage == "" && len(stages) > 0 {
		stage = stages[len(stages)-1].Name
	}
	for _, kv := range platformArgs(buildPlatform, platform, stage, buildArgs) {
		k, v, _ := strings.Cut(kv, "=")
		o.global[k] = v
	}
	o.auto = maps.Clone(o.global)
	for _, c := range metaArgs {
		for _, kv := range c.Args {
			a := outlineArg{item: OutlineItem{Name: kv.Key, Description: kv.DocComment, Line: startLine(c.Location())}}
			if v, ok := buildArgs[kv.Key]; ok {
				a.item.Value = v
			} else if kv.Value != nil {
				res, err := o.lex.ProcessWordWithMatches(*kv.Value, o.global)
				if err != nil {
					return nil, newSource(file, src).errorf(a.item.Line, "%v", err)
				}
				a.item.Value = res.Result
				for k := range res.Matched {
					if k != kv.Key {
						a.deps = append(a.deps, k)
					}
				}
			}
			if _, ok := buildArgs[kv.Key]; ok || kv.Value != nil {
				o.global[kv.Key] = a.item.Value
			}
			o.globals[kv.Key] = a
		}
	}
	idx := len(stages) - 1
	if target != "" {
		idx = slices.IndexFunc(stages, func(s instructions.Stage) bool { return strings.EqualFold(s.Name, target) })
		if idx < 0 {
			return nil, newSource(file, src).errorf(0, "target stage %q could not be found", target)
		}
	}
	o.out = &Outline{Name: stages[idx].Name, Description: stages[idx].DocComment}
	o.visit(idx, map[int]bool{})
	for _, l := range [][]OutlineItem{o.out.Args, o.out.Secrets, o.out.SSH} {
		sort.SliceStable(l, func(i, j int) bool { return l[i].Line < l[j].Line })
	}
	return o.out, nil
}

// visit adds what stage i uses, then its base's and its dependencies'.
func (o *outliner) visit(i int, done map[int]bool) {
	if done[i] {
		return
	}
	done[i] = true
	s := o.stages[i]
	used := map[string]bool{}
	deps := o.fromArgs(i, used)
	env := mapEnv{} // the stage's ARGs and ENVs so far (base image ENVs unknown)
	for _, c := range s.Commands {
		switch c := c.(type) {
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				if v, _, err := o.lex.ProcessWord(kv.Value, env); err == nil {
					env[kv.Key] = v
				}
			}
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				_, hasValue := o.build[kv.Key]
				if _, ok := o.globals[kv.Key]; ok && kv.Value == nil && !hasValue {
					used[kv.Key] = true // inherits the global ARG
					if v, ok := o.global[kv.Key]; ok {
						env[kv.Key] = v
					}
					continue
				}
				if v, ok := o.auto[kv.Key]; ok && kv.Value == nil && !hasValue {
					env[kv.Key] = v // inherits the automatic arg, unlisted
					continue
				}
				it := OutlineItem{Name: kv.Key, Description: kv.DocComment, Line: startLine(c.Location())}
				if v, ok := o.build[kv.Key]; ok {
					it.Value = v
				} else if kv.Value != nil {
					it.Value = *kv.Value
					if v, _, err := o.lex.ProcessWord(*kv.Value, env); err == nil {
						it.Value = v
					}
				}
				if hasValue || kv.Value != nil {
					env[kv.Key] = it.Value
				}
				o.addArg(it)
			}
		case *instructions.CopyCommand:
			deps = append(deps, o.stageRef(c.From, i)...)
		case *instructions.RunCommand:
			o.mounts(c, i, &deps)
		}
	}
	o.markGlobals(used, map[string]bool{})
	for _, d := range deps {
		o.visit(d, done)
	}
}

// fromArgs adds to used the global ARGs stage i's FROM uses, and those
// of the stages it is built on: BuildKit starts a stage's outline from
// its base stage's. It returns the base stage, if the base is one.
func (o *outliner) fromArgs(i int, used map[string]bool) []int {
	s := o.stages[i]
	var base []int
	for _, w := range []string{s.BaseName, s.Platform} {
		res, err := o.lex.ProcessWordWithMatches(w, o.global)
		if err != nil {
			continue
		}
		for k := range res.Matched {
			used[k] = true
		}
		if w == s.BaseName {
			base = o.stageRef(res.Result, i)
		}
	}
	for _, b := range base {
		o.fromArgs(b, used)
	}
	return base
}

func (o *outliner) addArg(it OutlineItem) {
	if o.seen["arg "+it.Name] {
		return
	}
	o.seen["arg "+it.Name] = true
	o.out.Args = append(o.out.Args, it)
}

// markGlobals lists the global ARGs used and those their defaults use.
func (o *outliner) markGlobals(used map[string]bool, visited map[string]bool) {
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range used {
			if !yield(k) {
				return
			}
		}
	}) {
		if visited[k] {
			continue
		}
		visited[k] = true
		g, ok := o.globals[k]
		if !ok {
			continue
		}
		o.addArg(g.item)
		deps := map[string]bool{}
		for _, d := range g.deps {
			deps[d] = true
		}
		o.markGlobals(deps, visited)
	}
}

func (o *outliner) mounts(c *instructions.RunCommand, i int, deps *[]int) {
	line := startLine(c.Location())
	// Mount fields are parsed when the command is expanded; the outline
	// takes them as written.
	if err := c.Expand(func(w string) (string, error) { return w, nil }); err != nil {
		return
	}
	for _, m := range instructions.GetMounts(c) {
		if m.From != "" {
			*deps = append(*deps, o.stageRef(m.From, i)...)
		}
		switch m.Type {
		case instructions.MountTypeSecret:
			id := m.CacheID
			if m.Source != "" {
				id = m.Source
			}
			if id == "" {
				id = path.Base(m.Target)
			}
			if !o.seen["secret "+id] {
				o.seen["secret "+id] = true
				o.out.Secrets = append(o.out.Secrets, OutlineItem{Name: id, Required: m.Required, Line: line})
			}
		case instructions.MountTypeSSH:
			id := m.CacheID
			if id == "" {
				id = "default"
			}
			if !o.seen["ssh "+id] {
				o.seen["ssh "+id] = true
				o.out.SSH = append(o.out.SSH, OutlineItem{Name: id, Required: m.Required, Line: line})
			}
		}
	}
}

// stageRef resolves a FROM, --from or from= value to an earlier stage
// (by name or index); images and named contexts give none.
func (o *outliner) stageRef(ref string, before int) []int {
	if n, err := strconv.Atoi(ref); err == nil {
		if n >= 0 && n < before {
			return []int{n}
		}
		return nil
	}
	for j := 0; j < before; j++ {
		if o.stages[j].Name != "" && strings.EqualFold(o.stages[j].Name, ref) {
			return []int{j}
		}
	}
	return nil
}

func parseStages(file string, src []byte) ([]instructions.Stage, []instructions.ArgCommand, error) {
	s := newSource(file, src)
	ast, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, nil, s.wrap(err, 0)
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return nil, nil, s.wrap(err, 0)
	}
	if len(stages) == 0 {
		return nil, nil, s.errorf(0, "the Dockerfile has no FROM instruction, so there is no stage to build")
	}
	return stages, metaArgs, nil
}

// mapEnv is a shell.EnvGetter over a map.
type mapEnv map[string]string

func (m mapEnv) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }

func (m mapEnv) Keys() []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

package frontend

import (
	"fmt"
	"slices"
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

const historyComment = "buildkit.dockerfile.v0"

// state is a stage while its instructions are applied.
type state struct {
	node    *graph.Node
	cfg     *imageconfig.File
	env     envList                             // what RUN sees and variables expand against
	args    []instructions.KeyValuePairOptional // ARGs in scope, for RUN history
	history []HistoryStep
	used    map[string][]parser.Range // CMD, ENTRYPOINT, HEALTHCHECK seen in this stage
	wdSet   bool                      // a WORKDIR ran in this Dockerfile
	step    int
	total   int
}

// initState starts a stage from its base stage or base image.
func (c *converter) initState(s *stage) *state {
	st := &state{used: map[string][]parser.Range{}, total: s.cmdTotal()}
	if b := s.base; b != nil {
		st.node = b.state.node
		st.cfg = b.state.cfg.DeepCopy()
		st.env = slices.Clone(b.state.env)
		st.args = slices.Clone(b.state.args)
		st.history = slices.Clone(b.state.history)
		st.wdSet = b.state.wdSet
	} else {
		st.cfg = s.baseCfg.DeepCopy()
		if s.baseNode != nil {
			st.node = s.baseNode
			st.node.Name = st.label(s, "FROM "+s.def.BaseName, false, nil)
		} else {
			st.node = &graph.Node{Op: graph.Scratch{}}
		}
	}
	st.cfg.Config.OnBuild = nil
	if _, ok := shell.EnvsFromSlice(st.cfg.Config.Env).Get("PATH"); !ok && s.platform.OS != "windows" {
		st.cfg.Config.Env = append(st.cfg.Config.Env, "PATH="+defaultPath)
	}
	for _, kv := range st.cfg.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		st.env = st.env.set(k, v)
	}
	if wd := st.cfg.Config.WorkingDir; wd != "" {
		st.cfg.Config.WorkingDir = normalizeWorkdir("/", wd)
	}
	return st
}

// label is the progress name of the stage's next step, e.g.
// "[builder 2/5] RUN make"; in a multi-platform build it starts with the
// stage's platform, and the target's when the stage's variables name
// another ("[linux/amd64->arm64 build 2/5]"), as BuildKit's names.
func (st *state) label(s *stage, text string, onbuild bool, env envList) string {
	if st.total == 0 {
		return text
	}
	st.step++
	out := "["
	if s.multi {
		out += platformString(s.platform) + targetSuffix(s.platform, env) + " "
	}
	if s.name != "" {
		out += s.name + " "
	}
	out += fmt.Sprintf("%*d/%d] ", len(strconv.Itoa(st.total)), st.step, st.total)
	if onbuild {
		out += "ONBUILD "
	}
	return out + text
}

func (c *converter) dispatchStage(s *stage) error {
	st := c.initState(s)
	s.state = st
	for _, cmd := range s.commands {
		x := &step{converter: c, s: s, st: st, cmd: cmd, line: startLine(cmd.Location())}
		x.lint = c.lint.WithMergedConfigFromComments(cmd.Comments())
		if err := x.run(); err != nil {
			return c.src.wrap(err, x.line)
		}
	}
	return nil
}

// step applies one instruction to a stage.
type step struct {
	*converter
	s    *stage
	st   *state
	cmd  command
	lint *linter.Linter
	line int
}

func (x *step) errorf(format string, args ...any) error {
	return x.src.errorf(x.line, format, args...)
}

func (x *step) pos() graph.Pos { return graph.Pos{File: x.o.File, Line: x.line} }

// name is the progress label: the instruction as written, with variables
// expanded, numbered within the stage.
func (x *step) name(lex *shell.Lex, env shell.EnvGetter, suffix string) string {
	text := x.cmd.Name()
	if s, ok := x.cmd.Command.(fmt.Stringer); ok {
		text = s.String()
	}
	if w, _, err := lex.ProcessWord(text, env); err == nil {
		text = w
	}
	first, rest, ok := strings.Cut(text, " ")
	text = strings.ToUpper(first)
	if ok {
		text += " " + rest
	}
	return x.st.label(x.s, text+suffix, x.cmd.onbuild, x.st.env)
}

// commit records a history entry; node is the step's layer, nil for a
// metadata-only instruction.
func (x *step) commit(createdBy string, node *graph.Node) {
	if node != nil {
		node.Stage = x.s.def.Name
	}
	x.st.history = append(x.st.history, HistoryStep{
		History: v1.History{CreatedBy: createdBy, Comment: historyComment, EmptyLayer: node == nil},
		Node:    node,
	})
}

func (x *step) run() error {
	if err := x.expand(); err != nil {
		return err
	}
	switch c := x.cmd.Command.(type) {
	case *instructions.EnvCommand:
		return x.env(c)
	case *instructions.LabelCommand:
		return x.label(c)
	case *instructions.MaintainerCommand:
		x.st.cfg.Author = c.Maintainer
		x.commit("MAINTAINER "+c.Maintainer, nil)
	case *instructions.OnbuildCommand:
		x.st.cfg.Config.OnBuild = append(x.st.cfg.Config.OnBuild, c.Expression)
	case *instructions.CmdCommand:
		return x.cmdline(c)
	case *instructions.EntrypointCommand:
		return x.entrypoint(c)
	case *instructions.HealthCheckCommand:
		return x.healthcheck(c)
	case *instructions.ExposeCommand:
		return x.expose(c)
	case *instructions.UserCommand:
		x.st.cfg.Config.User = c.User
		x.commit("USER "+c.User, nil)
	case *instructions.VolumeCommand:
		return x.volume(c)
	case *instructions.StopSignalCommand:
		return x.stopSignal(c)
	case *instructions.ShellCommand:
		x.st.cfg.Config.Shell = slices.Clone(c.Shell)
		x.commit(fmt.Sprintf("SHELL %v", c.Shell), nil)
	case *instructions.ArgCommand:
		return x.arg(c)
	case *instructions.WorkdirCommand:
		return x.workdir(c)
	case *instructions.RunCommand:
		return x.runCmd(c)
	case *instructions.CopyCommand:
		return x.copyCmd(c)
	case *instructions.AddCommand:
		return x.addCmd(c)
	default:
		return x.errorf("instruction %s is not supported", x.cmd.Name())
	}
	return nil
}

// expand substitutes variables in the instruction's words, except for ARG,
// whose default expands only when it is used.
func (x *step) expand() error {
	if _, isArg := x.cmd.Command.(*instructions.ArgCommand); !isArg {
		if ex, ok := x.cmd.Command.(instructions.SupportsSingleWordExpansion); ok {
			err := ex.Expand(func(word string) (string, error) {
				w, unmatched, err := x.lex.ProcessWord(word, x.st.env)
				x.reportUndefined(unmatched)
				if err == nil {
					err = checkExpanded(w)
				}
				return w, err
			})
			if err != nil {
				return err
			}
		}
	}
	if ex, ok := x.cmd.Command.(instructions.SupportsSingleWordExpansionRaw); ok {
		lex := shell.NewLex('\\')
		lex.SkipProcessQuotes = true
		return ex.ExpandRaw(func(word string) (string, error) {
			w, unmatched, err := lex.ProcessWord(word, x.st.env)
			x.reportUndefined(unmatched)
			if err == nil {
				err = checkExpanded(w)
			}
			return w, err
		})
	}
	return nil
}

// reportUndefined is the UndefinedVar check: a variable that is neither
// in the environment nor a declared ARG.
func (x *step) reportUndefined(unmatched map[string]struct{}) {
	if len(unmatched) == 0 {
		return
	}
	declared := map[string]bool{}
	for _, a := range x.st.args {
		declared[a.Key] = true
	}
	for _, v := range sortedKeys(unmatched) {
		if declared[v] || nonEnvArgs[v] {
			continue
		}
		msg := linter.RuleUndefinedVar.Format(v, suggest(v, x.st.env.Keys()))
		x.lint.Run(&linter.RuleUndefinedVar, x.cmd.Location(), msg)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// withShell wraps a shell-form command line in the stage's SHELL.
func withShell(cfg *imageconfig.File, args []string) []string {
	sh := slices.Clone(cfg.Config.Shell)
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
		if cfg.OS == "windows" {
			sh = []string{"cmd", "/S", "/C"}
		}
	}
	return append(sh, strings.Join(args, " "))
}

package frontend

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/gorae/gorae/graph"
)

// heredocDir is where a heredoc script with a shebang is placed, as in
// BuildKit.
const heredocDir = "/dev/pipes/"

func (x *step) runCmd(c *instructions.RunCommand) error {
	args, files, suffix, err := heredocArgs(c, x.st.cfg.OS)
	if err != nil {
		return err
	}
	if c.PrependShell {
		args = withShell(x.st.cfg, args)
	}
	inputs := []*graph.Node{x.st.node}
	mounts, err := x.mounts(c, &inputs)
	if err != nil {
		return err
	}
	network := instructions.GetNetwork(c)
	if network == "" || network == instructions.NetworkDefault {
		network = instructions.NetworkDefault
		if d := x.o.Run.Network; d != "" {
			network = d
		}
	}
	if d := x.o.Run.ShmSize; d > 0 {
		// BuildKit mounts a tmpfs of that size over /dev/shm.
		mounts = append(mounts, graph.Mount{Type: string(instructions.MountTypeTmpfs), Target: "/dev/shm", Size: d})
	}
	security := instructions.GetSecurity(c)
	if security == "" {
		security = instructions.SecuritySandbox
	}
	// The progress label shows variables as the shell would see them, but
	// never a secret's value and never an unset variable as empty.
	lex := *x.lex
	lex.RawQuotes, lex.RawEscapes, lex.SkipUnsetEnv = true, true, true
	env := x.st.env
	for _, m := range mounts {
		if m.Type == string(instructions.MountTypeSecret) && m.Env != "" {
			env = env.set(m.Env, "****")
		}
	}
	n := &graph.Node{
		Op: graph.Run{
			Args:       args,
			Env:        slices.Clone([]string(x.st.env)),
			User:       x.st.cfg.Config.User,
			Workdir:    x.workdirOrRoot(),
			Network:    network,
			Security:   security,
			Mounts:     mounts,
			Files:      files,
			ExtraHosts: slices.Clone(x.o.Run.ExtraHosts),
			Ulimits:    slices.Clone(x.o.Run.Ulimits),
			Platform:   x.runPlatform(),
		},
		Inputs: inputs,
		Name:   x.name(&lex, env, suffix),
		Pos:    x.pos(),
	}
	x.st.node = n
	x.commit("RUN "+runCommandString(args, x.st.args, x.st.env)+" # buildkit", n)
	return nil
}

// heredocArgs applies BuildKit's heredoc rules: a single heredoc with a
// shebang becomes an executable file, any other single heredoc becomes the
// shell's script, several heredocs are handed to the shell verbatim.
func heredocArgs(c *instructions.RunCommand, os string) (args []string, files map[string]string, suffix string, err error) {
	args = slices.Clone(c.CmdLine)
	if len(c.Files) == 0 {
		return args, nil, "", nil
	}
	if len(args) != 1 || !c.PrependShell {
		return nil, nil, "", fmt.Errorf("parsing produced an invalid run command: %v", args)
	}
	if parser.MustParseHeredoc(args[0]) == nil {
		var b strings.Builder
		b.WriteString(args[0])
		for _, f := range c.Files {
			b.WriteString("\n" + f.Data + f.Name)
		}
		return []string{b.String()}, nil, "", nil
	}
	f := c.Files[0]
	data := f.Data
	if f.Chomp {
		data = parser.ChompHeredocContent(data)
	}
	suffix = fmt.Sprintf(" (%s)", summarizeHeredoc(f.Data))
	if os != "windows" && strings.HasPrefix(data, "#!") {
		p := path.Join(heredocDir, f.Name)
		return []string{p}, map[string]string{p: data}, suffix, nil
	}
	return []string{data}, nil, suffix, nil
}

func summarizeHeredoc(doc string) string {
	lines := strings.Split(strings.ReplaceAll(strings.TrimSpace(doc), "\r\n", "\n"), "\n")
	if len(lines) > 1 {
		return lines[0] + "..."
	}
	return lines[0]
}

// runCommandString is the history text of a RUN: the build args in scope
// ("|2 A=1 B=2") before the command, as Docker has always written it.
func runCommandString(args []string, buildArgs []instructions.KeyValuePairOptional, env shell.EnvGetter) string {
	var kvs []string
	idx := map[string]int{}
	for _, a := range buildArgs {
		v, ok := env.Get(a.Key)
		if !ok {
			v = a.ValueString()
		}
		if i, ok := idx[a.Key]; ok {
			kvs[i] = a.Key + "=" + v
			continue
		}
		idx[a.Key] = len(kvs)
		kvs = append(kvs, a.Key+"="+v)
	}
	if len(kvs) > 0 {
		kvs = append([]string{"|" + strconv.Itoa(len(kvs))}, kvs...)
	}
	return strings.Join(append(kvs, args...), " ")
}

// mounts converts RUN --mount flags; a bind or cache mount reading from a
// stage, image or context adds that node to *inputs.
func (x *step) mounts(c *instructions.RunCommand, inputs *[]*graph.Node) ([]graph.Mount, error) {
	var out []graph.Mount
	for i, m := range instructions.GetMounts(c) {
		gm := graph.Mount{Type: string(m.Type), Target: m.Target, ReadOnly: m.ReadOnly, Required: m.Required}
		if m.Mode != nil {
			gm.Mode = "0" + strconv.FormatUint(*m.Mode, 8)
		}
		if m.UID != nil {
			gm.UID = strconv.FormatUint(*m.UID, 10)
		}
		if m.GID != nil {
			gm.GID = strconv.FormatUint(*m.GID, 10)
		}
		switch m.Type {
		case instructions.MountTypeSecret:
			gm.ID = m.CacheID
			if m.Source != "" {
				gm.ID = m.Source
			}
			if gm.ID == "" {
				if m.Target == "" {
					return nil, fmt.Errorf("secret mount: one of source, target required")
				}
				gm.ID = path.Base(m.Target)
			}
			if m.Env != nil {
				gm.Env = *m.Env
			} else if gm.Target == "" {
				gm.Target = "/run/secrets/" + path.Base(gm.ID)
			}
			out = append(out, gm)
			continue
		case instructions.MountTypeSSH:
			if m.Source != "" {
				return nil, fmt.Errorf("ssh does not support source")
			}
			gm.ID = m.CacheID
			if gm.ID == "" {
				gm.ID = "default"
			}
			out = append(out, gm)
			continue
		case instructions.MountTypeTmpfs:
			gm.Size = m.SizeLimit
		case instructions.MountTypeCache:
			gm.ID = m.CacheID
			if gm.ID == "" {
				gm.ID = path.Clean(m.Target)
			}
			gm.Sharing = string(m.CacheSharing)
			if gm.Sharing == "" {
				gm.Sharing = string(instructions.MountSharingShared)
			}
		}
		if m.Type == instructions.MountTypeBind || m.Type == instructions.MountTypeCache {
			var from *graph.Node
			if src := x.cmd.sources[i]; src != nil {
				if src.state == nil {
					return nil, fmt.Errorf("cannot mount from stage %q to %q, stage needs to be defined before current command", m.From, m.Target)
				}
				from = src.state.node
			} else if m.Type == instructions.MountTypeBind {
				from = x.mainContext()
			}
			if from != nil {
				gm.Input = inputIndex(inputs, from)
			}
			if src := path.Join("/", m.Source); src != "/" {
				gm.Source = src
			}
		}
		if !path.IsAbs(gm.Target) {
			gm.Target = path.Join("/", x.workdirOrRoot(), gm.Target)
		}
		if path.Clean(gm.Target) == "/" {
			return nil, fmt.Errorf("invalid mount target %q", gm.Target)
		}
		out = append(out, gm)
	}
	return out, nil
}

// runPlatform is the platform a RUN executes for when it is not the
// build's own ("" otherwise): the runner then checks emulation first.
func (x *step) runPlatform() string {
	p, b := x.s.platform, x.o.BuildPlatform
	if p.OS == b.OS && p.Architecture == b.Architecture && p.Variant == b.Variant {
		return ""
	}
	return platformString(p)
}

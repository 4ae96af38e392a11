package frontend

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/imageconfig"
)

// The metadata instructions change only the config and add an
// empty_layer history entry worded as BuildKit words it.

func (x *step) env(c *instructions.EnvCommand) error {
	msg := "ENV"
	for _, e := range c.Env {
		if e.NoDelim {
			x.lint.Run(&linter.RuleLegacyKeyValueFormat, c.Location(), linter.RuleLegacyKeyValueFormat.Format(c.Name()))
		}
		x.checkSecretName("ENV", e.Key)
		msg += " " + e.Key + "=" + e.Value
		x.st.env = x.st.env.set(e.Key, e.Value)
		x.st.cfg.Config.Env = setEnv(x.st.cfg.Config.Env, e.Key, e.Value)
	}
	x.commit(msg, nil)
	return nil
}

func setEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if key, _, _ := strings.Cut(kv, "="); key == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func (x *step) label(c *instructions.LabelCommand) error {
	msg := "LABEL"
	if x.st.cfg.Config.Labels == nil {
		x.st.cfg.Config.Labels = map[string]string{}
	}
	for _, l := range c.Labels {
		if l.NoDelim {
			x.lint.Run(&linter.RuleLegacyKeyValueFormat, c.Location(), linter.RuleLegacyKeyValueFormat.Format(c.Name()))
		}
		x.st.cfg.Config.Labels[l.Key] = l.Value
		msg += " " + l.Key + "=" + l.Value
	}
	x.commit(msg, nil)
	return nil
}

// usedOnce is the MultipleInstructionsDisallowed check; it reports the
// earlier instruction, the one that has no effect.
func (x *step) usedOnce(name string) {
	if loc, ok := x.st.used[name]; ok {
		x.lint.Run(&linter.RuleMultipleInstructionsDisallowed, loc, linter.RuleMultipleInstructionsDisallowed.Format(x.cmd.Name()))
	}
	x.st.used[name] = x.cmd.Location()
}

func (x *step) shellForm(line instructions.ShellDependantCmdLine) []string {
	if !line.PrependShell {
		return slices.Clone(line.CmdLine)
	}
	if len(x.st.cfg.Config.Shell) == 0 {
		x.lint.Run(&linter.RuleJSONArgsRecommended, x.cmd.Location(), linter.RuleJSONArgsRecommended.Format(x.cmd.Name()))
	}
	return withShell(x.st.cfg, line.CmdLine)
}

func (x *step) cmdline(c *instructions.CmdCommand) error {
	x.usedOnce("CMD")
	args := x.shellForm(c.ShellDependantCmdLine)
	x.st.cfg.Config.Cmd = args
	x.st.cfg.Config.ArgsEscaped = true
	x.commit(fmt.Sprintf("CMD %q", args), nil)
	return nil
}

// entrypoint sets ENTRYPOINT; a CMD inherited from the base is dropped,
// one set earlier in this stage is kept (BuildKit's rule).
func (x *step) entrypoint(c *instructions.EntrypointCommand) error {
	x.usedOnce("ENTRYPOINT")
	args := x.shellForm(c.ShellDependantCmdLine)
	x.st.cfg.Config.Entrypoint = args
	if _, ok := x.st.used["CMD"]; !ok {
		x.st.cfg.Config.Cmd = nil
	}
	x.commit(fmt.Sprintf("ENTRYPOINT %q", args), nil)
	return nil
}

func (x *step) healthcheck(c *instructions.HealthCheckCommand) error {
	x.usedOnce("HEALTHCHECK")
	h := c.Health
	hc := &imageconfig.HealthConfig{
		Test:          slices.Clone(h.Test),
		Interval:      h.Interval,
		Timeout:       h.Timeout,
		StartPeriod:   h.StartPeriod,
		StartInterval: h.StartInterval,
		Retries:       h.Retries,
	}
	x.st.cfg.Config.Healthcheck = hc
	// BuildKit prints Docker's HealthConfig, whose fields and order
	// imageconfig.HealthConfig has.
	x.commit(fmt.Sprintf("HEALTHCHECK %+v", *hc), nil)
	return nil
}

func (x *step) expose(c *instructions.ExposeCommand) error {
	var words []string
	for _, p := range c.Ports {
		ws, err := x.lex.ProcessWords(p, x.st.env)
		if err != nil {
			return err
		}
		words = append(words, ws...)
	}
	var ports []string
	for _, w := range words {
		ps, err := x.parsePort(w)
		if err != nil {
			return err
		}
		ports = append(ports, ps...)
	}
	if x.st.cfg.Config.ExposedPorts == nil {
		x.st.cfg.Config.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range ports {
		x.st.cfg.Config.ExposedPorts[p] = struct{}{}
	}
	x.commit(fmt.Sprintf("EXPOSE %v", ports), nil)
	return nil
}

func (x *step) volume(c *instructions.VolumeCommand) error {
	if x.st.cfg.Config.Volumes == nil {
		x.st.cfg.Config.Volumes = map[string]struct{}{}
	}
	for _, v := range c.Volumes {
		if v == "" {
			return x.errorf("VOLUME specified can not be an empty string")
		}
		x.st.cfg.Config.Volumes[v] = struct{}{}
	}
	x.commit(fmt.Sprintf("VOLUME %v", c.Volumes), nil)
	return nil
}

func (x *step) stopSignal(c *instructions.StopSignalCommand) error {
	if !validSignal(c.Signal) {
		return x.errorf("invalid signal: %s (use a name such as SIGTERM or a number from 1 to 64)", c.Signal)
	}
	x.st.cfg.Config.StopSignal = c.Signal
	x.commit("STOPSIGNAL "+c.Signal, nil)
	return nil
}

// arg declares build args in the stage: a --build-arg wins, then the
// default (expanded now), then the value of the global ARG of that name.
func (x *step) arg(c *instructions.ArgCommand) error {
	parts := make([]string, 0, len(c.Args))
	for _, a := range c.Args {
		x.checkSecretName("ARG", a.Key)
		bv, hasBuildArg := x.o.BuildArgs[a.Key]
		if hasBuildArg {
			x.consumed[a.Key] = true
		}
		switch {
		case hasBuildArg:
			a.Value = &bv
		case a.Value != nil:
			v, unmatched, err := x.lex.ProcessWord(*a.Value, x.st.env)
			x.reportUndefined(unmatched)
			if err != nil {
				return err
			}
			a.Value = &v
		default:
			if v, ok := x.global.Get(a.Key); ok {
				a.Value = &v
			}
		}
		if a.Value != nil && !nonEnvArgs[a.Key] {
			x.st.env = x.st.env.set(a.Key, *a.Value)
		}
		x.st.args = append(x.st.args, a)
		part := a.Key
		if a.Value != nil {
			part += "=" + *a.Value
		}
		parts = append(parts, part)
	}
	x.commit("ARG "+strings.Join(parts, " "), nil)
	return nil
}

// workdir sets the working directory and, unless it is "/", creates it
// as BuildKit does (a layer owned by the current USER).
func (x *step) workdir(c *instructions.WorkdirCommand) error {
	if !x.st.wdSet && !path.IsAbs(c.Path) {
		x.lint.Run(&linter.RuleWorkdirRelativePath, c.Location(), linter.RuleWorkdirRelativePath.Format(c.Path))
	}
	x.st.wdSet = true
	wd := normalizeWorkdir(x.st.cfg.Config.WorkingDir, c.Path)
	x.st.cfg.Config.WorkingDir = wd
	if wd == "/" {
		x.commit("WORKDIR "+wd, nil)
		return nil
	}
	n := &graph.Node{
		Op:     graph.Mkdir{Path: wd, User: x.st.cfg.Config.User},
		Inputs: []*graph.Node{x.st.node},
		Name:   x.name(x.lex, x.st.env, ""),
		Pos:    x.pos(),
	}
	x.st.node = n
	x.commit("WORKDIR "+wd, n)
	return nil
}

func normalizeWorkdir(current, p string) string {
	if current == "" {
		current = "/"
	}
	if p == "" {
		p = current
	}
	if !path.IsAbs(p) {
		p = path.Join(current, p)
	}
	return path.Clean(p)
}

// checkSecretName is the SecretsUsedInArgOrEnv check.
func (x *step) checkSecretName(instruction, key string) {
	if secretLike(key) {
		x.lint.Run(&linter.RuleSecretsUsedInArgOrEnv, x.cmd.Location(), linter.RuleSecretsUsedInArgOrEnv.Format(instruction, key))
	}
}

package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/binfmt"
	"github.com/gorae/gorae/copier"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/longpath"
	"github.com/gorae/gorae/runner"
	"github.com/gorae/gorae/solver"
)

// runOp is a RUN step: the command runs in a fresh sandbox over an overlay
// of the input's layers; the overlay's upper directory is the new layer.
type runOp struct {
	env  *Env
	op   graph.Run
	node *graph.Node
}

// CacheKey is the step's definition (command, env, user, workdir,
// network, mount specs) plus, for a bind mount of a build context, the
// digest of what it exposes. Secret values and cache-mount contents are
// never part of it.
func (o *runOp) CacheKey(ctx context.Context) (solver.Key, error) {
	// Entitlements are checked before the cache is asked, as BuildKit
	// validates them over the whole definition: a cached step needs
	// them as much as one to run.
	if err := o.allowed(); err != nil {
		return solver.Key{}, err
	}
	var extra []string
	for _, m := range o.op.Mounts {
		if m.Input == 0 {
			continue
		}
		c, ok := o.node.Inputs[m.Input].Op.(graph.Context)
		if !ok || m.Type != "bind" {
			continue
		}
		fsys, err := o.env.contextFS(c)
		if err != nil {
			return solver.Key{}, err
		}
		src := m.Source
		if src == "" {
			src = "."
		}
		rec := explainSource(ctx, "mount "+m.Target)
		d, err := o.env.hashPath(ctx, c.Name, fsys, src, rec)
		if err != nil {
			return solver.Key{}, o.env.contextError(c.Name, err)
		}
		rec.done(d)
		extra = append(extra, m.Target, d)
	}
	return opKey(o.op, extra...), nil
}

func (o *runOp) where() string {
	return fmt.Sprintf("%s:%d", o.node.Pos.File, o.node.Pos.Line)
}

func (o *runOp) Exec(ctx context.Context, inputs []*State) (_ *State, err error) {
	if err := o.allowed(); err != nil {
		return nil, err
	}
	if err := o.emulation(); err != nil {
		return nil, err
	}
	if o.env.Runner == nil || os.Geteuid() != 0 {
		return nil, fmt.Errorf("%s: RUN needs root, or gorae's user namespace (the gorae command makes one when run without root)", o.where())
	}
	base := inputs[0]
	lowers, err := o.env.unpack(ctx, base)
	if err != nil {
		return nil, err
	}
	if err := o.env.runClock(ctx); err != nil {
		return nil, err
	}
	act, err := o.env.Snapshots.Prepare(ctx, lowers)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			act.Remove()
		}
	}()
	rootFS, err := os.OpenRoot(act.Merged)
	if err != nil {
		return nil, err
	}
	view := archive.RootFS{Root: rootFS}
	uid, gid, groups, err := o.user(view)
	home := copier.HomeDir(view, uid)
	rootFS.Close()
	if err != nil {
		return nil, err
	}
	cwd := o.op.Workdir
	if cwd == "" {
		cwd = "/"
	}
	if err := os.MkdirAll(filepath.Join(act.Merged, filepath.Clean("/"+cwd)), 0o755); err != nil {
		return nil, fmt.Errorf("%s: create workdir %s: %w", o.where(), cwd, err)
	}
	mounts, cleanup, err := o.mounts(ctx, inputs, uid, gid)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	sess, err := o.session(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.close()
	env := WithHome(WithPath(o.op.Env), home)
	for _, kv := range sess.env {
		env = setEnv(env, kv)
	}
	tail := newTailWriter(20)
	// One writer for both streams keeps them in one pipe, in order; it
	// masks the secrets before anything is shown or kept.
	out := newRedactor(multi(tail, o.env.output(o.node.Name)), sess.secrets)
	hosts, limits, err := o.sandboxExtras()
	if err != nil {
		return nil, err
	}
	p := runner.Process{
		Rootfs: act.Merged, Args: o.op.Args, Env: env, Cwd: cwd,
		UID: uid, GID: gid, Groups: groups, Network: o.op.Network, Mounts: append(mounts, sess.mounts...),
		Stdout: out, Stderr: out,
		Insecure:   o.op.Security == "insecure",
		Isolation:  o.env.Isolation,
		ExtraHosts: hosts, Ulimits: limits,
	}
	err = o.env.Runner.Run(ctx, p)
	o.env.runEnded()
	out.Close()
	if err != nil {
		// Before the upper directory is removed: a command that filled
		// the disk may only have printed its own error and exited 1.
		defer func() { err = CheckSpace(err, o.env.Root, act.Upper) }()
		var ee *runner.ExitError
		if errors.As(err, &ee) {
			hint := ""
			if archive.InUserNamespace() && archive.IDMapping() == 1 {
				hint = "\n(gorae runs rootless with only your own user mapped, so a chown to any other user fails with \"Invalid argument\": give your user a range in /etc/subuid and /etc/subgid and install newuidmap)"
			}
			return nil, &runError{summary: fmt.Sprintf("%s: RUN %s: %v", o.where(), strings.Join(o.op.Args, " "), ee), detail: tail.String() + hint}
		}
		return nil, fmt.Errorf("%s: RUN: %w", o.where(), err)
	}
	var changed bool
	layer, err := o.env.writeLayer(ctx, func(w *archive.Writer) error {
		var err error
		changed, err = act.Diff(ctx, w, sandboxPaths(p.Mounts))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: write RUN layer: %w", o.where(), err)
	}
	if dropped := act.Dropped(); len(dropped) > 0 {
		o.env.warn("%s: %d socket(s) left out of the RUN's layer (/%s first): a layer cannot hold a socket; create it when the container starts", o.where(), len(dropped), longpath.Shorten(dropped[0]))
	}
	if !changed {
		return base.unchanged(), nil
	}
	next := base.with(layer, o.env.now())
	ids := chainIDs(next.Layers)
	if o.env.Epoch != nil {
		act.ClampTimes(*o.env.Epoch)
	}
	if err := act.Commit(ctx, o.env.Snapshots, ids[len(ids)-1]); err == nil {
		committed = true
	}
	return next, nil
}

func (o *runOp) allowed() error {
	if o.op.Network == "host" && !o.env.Allow["network.host"] {
		return fmt.Errorf("%s: RUN --network=host needs --allow network.host", o.where())
	}
	if o.op.Security == "insecure" && !o.env.Allow["security.insecure"] {
		return fmt.Errorf("%s: RUN --security=insecure needs --allow security.insecure", o.where())
	}
	return nil
}

// emulation fails a RUN for another platform that this machine cannot
// run in the sandbox (no binfmt_misc handler, or one without the F
// flag), before any work, with what to install. Only a step that
// executes asks: a cached one needs no emulator. The probe runs once per
// platform and process.
func (o *runOp) emulation() error {
	if o.op.Platform == "" {
		return nil
	}
	p, err := v1.ParsePlatform(o.op.Platform)
	if err == nil && (p.OS == "" || p.Architecture == "") {
		err = errors.New("want os/arch[/variant]")
	}
	if err != nil {
		return fmt.Errorf("%s: RUN for platform %q: %w", o.where(), o.op.Platform, err)
	}
	if err := binfmt.Check(*p); err != nil {
		return fmt.Errorf("%s: %w", o.where(), err)
	}
	return nil
}

// user resolves USER against the image's /etc/passwd and /etc/group as
// runc does: a name or uid, an optional group, and the user's
// supplementary groups.
func (o *runOp) user(view archive.FS) (uint32, uint32, []uint32, error) {
	u, err := copier.LookupExecUser(view, o.op.User)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("%s: USER %s: %w", o.where(), o.op.User, err)
	}
	return uint32(u.UID), uint32(u.GID), Gids(u.Groups), nil
}

// Gids converts group ids for runner.Process.
func Gids(groups []int) []uint32 {
	out := make([]uint32, len(groups))
	for i, g := range groups {
		out[i] = uint32(g)
	}
	return out
}

// WithPath adds Docker's default PATH when the image sets none.
func WithPath(env []string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return env
		}
	}
	return append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
}

// sandboxPaths are the mount points the sandbox may have created in the
// rootfs (its own and those of --mount targets, with their parents); the
// layer leaves them out when they are empty and the image lacked them, as
// BuildKit removes its mount stubs.
func sandboxPaths(mounts []runner.Mount) []string {
	var out []string
	for _, p := range runner.CreatedPaths() {
		out = append(out, strings.TrimPrefix(p, "/"))
	}
	for _, m := range mounts {
		for p := path.Clean("/" + m.Target); p != "/"; p = path.Dir(p) {
			out = append(out, strings.TrimPrefix(p, "/"))
		}
	}
	return out
}

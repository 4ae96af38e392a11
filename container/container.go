package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/binfmt"
	"github.com/gorae/gorae/copier"
	"github.com/gorae/gorae/imageconfig"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/runner"
	"github.com/gorae/gorae/snapshot"
)

// Options are the settings of `gorae run`: which image, how its config
// is overridden, and what the container sees of the host.
type Options struct {
	Image string
	// Platform is the image's platform to run (of a multi-platform
	// image, or to pull); zero is this machine's. Another architecture's
	// programs run through the kernel's binfmt_misc emulation.
	Platform v1.Platform
	Config   Config
	Volumes  []Volume
	Network  string // default (the host's), host, none (only lo)
	Hostname string // "" = the container's random id, as Docker does
	Tty      bool   // sets TERM=xterm; the terminal itself comes with IO
	Registry registry.Options
	Progress *progress.Printer // says when the image is pulled
	Limits   Limits
}

// Limits are docker run's --add-host, --ulimit and --shm-size.
type Limits struct {
	ExtraHosts []runner.HostIP // with any, /etc/hosts is gorae's own plus these
	Ulimits    []runner.Ulimit
	ShmSize    int64 // bytes of /dev/shm; 0 = 64 MiB
}

// Config overrides the image config as docker run's flags do.
type Config struct {
	Cmd []string // replaces the image's Cmd when not empty
	// Entrypoint replaces the image's Entrypoint (and drops its Cmd)
	// when EntrypointSet; an empty Entrypoint clears it.
	Entrypoint    []string
	EntrypointSet bool
	Env           []string // K=V, over the image's Env
	Workdir       string   // replaces WorkingDir; created when missing
	User          string   // replaces User: name|uid[:group|gid]
	// GroupAdd are docker run --group-add values: group names of the
	// image's /etc/group or gids, added to the user's groups.
	GroupAdd []string
}

// Volume is a host directory or file bound into the container.
type Volume struct {
	Source, Target string // both absolute
	ReadOnly       bool
}

// IO connects the container to the caller.
type IO struct {
	Stdin          io.Reader // nil = /dev/null
	Stdout, Stderr io.Writer
	// Console, when set, is the container's terminal: Run copies Stdin to
	// its master and the master to Stdout, and closes its slave when the
	// command is done. The caller owns the host terminal (raw mode,
	// window size).
	Console *runner.Console
	Signals <-chan os.Signal // forwarded to the command while it runs
}

// Container is a prepared container: its image resolved and held against
// prune, a throwaway overlay of its layers, and the process to start.
// Close always discards it: nothing a container writes outlives it.
type Container struct {
	ID      string
	active  *snapshot.Active
	unlock  func()
	process runner.Process
	notes   func(string) // the sandbox's fallbacks, as warnings
}

// ErrNoCommand is returned when neither the image nor the caller gives a
// command.
var ErrNoCommand = errors.New("no command specified: the image has no CMD or ENTRYPOINT; give one after the image name, e.g. gorae run IMAGE sh")

// New resolves o.Image (the local store first, else pulled),
// unpacks its layers, prepares a writable snapshot over them and applies
// the image config with o's overrides. Call Close when done, also after
// an error of Run.
func New(ctx context.Context, root *root.Root, o Options) (_ *Container, err error) {
	c := &Container{ID: newID(), notes: func(msg string) {
		if o.Progress != nil {
			o.Progress.Warnf("%s", msg)
		}
	}}
	// Shared for the container's whole life, so that prune cannot
	// delete its layers under it.
	if c.unlock, err = root.Lock(ctx, false); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	res := &images.Resolver{Root: root, Registry: o.Registry, Progress: o.Progress}
	platform := o.Platform
	if platform.OS == "" {
		platform = images.HostPlatform()
	}
	ri, err := res.Resolve(ctx, o.Image, platform)
	if err != nil {
		return nil, err
	}
	if p := o.Platform; p.OS != "" && (ri.Config.OS != p.OS || ri.Config.Architecture != p.Architecture) {
		// As docker run: the image was found, for another platform.
		return nil, fmt.Errorf("image %s is for %s/%s, which does not match --platform %s: choose the image's platform or another image", ri.Ref, ri.Config.OS, ri.Config.Architecture, images.FormatPlatform(p))
	}
	if err := checkEmulation(ri.Config); err != nil {
		return nil, fmt.Errorf("run %s: %w", ri.Ref, err)
	}
	cfg := ri.Config.Config
	args, err := o.Config.args(cfg)
	if err != nil {
		return nil, err
	}
	lowers, err := unpackImage(ctx, root, ri.Digest, o.Progress)
	if err != nil {
		return nil, fmt.Errorf("unpack image %s: %w", ri.Ref, err)
	}
	if c.active, err = root.Snapshots.Prepare(ctx, lowers); err != nil {
		return nil, err
	}
	hostname := o.Hostname
	if hostname == "" {
		hostname = c.ID[:12]
	}
	p := runner.Process{
		Rootfs: c.active.Merged, Args: args, Hostname: hostname, Network: o.Network,
		ExtraHosts: o.Limits.ExtraHosts, Ulimits: o.Limits.Ulimits,
	}
	if o.Limits.ShmSize > 0 {
		p.Mounts = append(p.Mounts, runner.Mount{Type: "tmpfs", Source: "shm", Target: "/dev/shm",
			Options: []string{"mode=1777", "size=" + strconv.FormatInt(o.Limits.ShmSize, 10)}})
	}
	if err := c.configure(&p, cfg, o); err != nil {
		return nil, err
	}
	for _, v := range o.Volumes {
		opt := "rw"
		if v.ReadOnly {
			opt = "ro"
		}
		p.Mounts = append(p.Mounts, runner.Mount{Type: "bind", Source: v.Source, Target: v.Target, Options: []string{opt}})
	}
	c.process = p
	return c, nil
}

// checkEmulation fails early, with the fix, when this machine cannot run
// the image's architecture in the sandbox (binfmt.Check, as a RUN step
// for another platform does), rather than leave the command to fail with
// "exec format error". An architecture gorae has no probe for is left
// to the command.
func checkEmulation(cf *imageconfig.File) error {
	if cf.OS != "linux" || !slices.Contains(binfmt.Supported(), cf.Architecture) {
		return nil
	}
	return binfmt.Check(v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant})
}

// configure sets user, environment and working directory from cfg with
// the overrides of o, resolving the user in the container's own files.
func (c *Container) configure(p *runner.Process, cfg imageconfig.Config, o Options) error {
	user := cfg.User
	if o.Config.User != "" {
		user = o.Config.User
	}
	rootFS, err := os.OpenRoot(c.active.Merged)
	if err != nil {
		return err
	}
	view := archive.RootFS{Root: rootFS}
	u, err := copier.LookupExecUser(view, user)
	home := copier.HomeDir(view, uint32(u.UID))
	if err != nil {
		rootFS.Close()
		return fmt.Errorf("user %s: %w", user, err)
	}
	groups, err := copier.LookupGroups(view, u.Groups, o.Config.GroupAdd)
	rootFS.Close()
	if err != nil {
		return fmt.Errorf("--group-add: %w", err)
	}
	p.UID, p.GID, p.Groups = uint32(u.UID), uint32(u.GID), ops.Gids(groups)
	p.Env = containerEnv(cfg.Env, o.Config.Env, p.Hostname, home, o.Tty)
	p.Cwd = cfg.WorkingDir
	if o.Config.Workdir != "" {
		p.Cwd = o.Config.Workdir
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	// Missing directories are created by root, as Docker does; resolved
	// inside the container's tree so an image's symlink cannot point out.
	if err := mkdirIn(c.active.Merged, p.Cwd); err != nil {
		return fmt.Errorf("create working directory %s: %w", p.Cwd, err)
	}
	return nil
}

// Run starts the command and waits for it. It returns nil when the
// command exits 0, a *runner.ExitError with its exit code otherwise, a
// *runner.CommandError when it could not be started (not found,
// not executable), and the cause of ctx when ctx ended first (the
// command is then killed). Signals on io.Signals are forwarded, so a
// Ctrl-C reaches the command rather than ending ctx.
func (c *Container) Run(ctx context.Context, rio IO) error {
	p := c.process
	p.Signals = rio.Signals
	if rio.Console == nil {
		p.Stdin, p.Stdout, p.Stderr = rio.Stdin, rio.Stdout, rio.Stderr
		r := runner.Runner{Notes: c.notes}
		return r.Run(ctx, p)
	}
	con := rio.Console
	p.Tty = con.Slave
	out := rio.Stdout
	if out == nil {
		out = io.Discard
	}
	if rio.Stdin != nil {
		// Not waited for: a read of the host's stdin cannot be
		// interrupted, and once the command is gone its writes fail.
		go io.Copy(con.Master, rio.Stdin)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		// Ends with EIO once the slave is closed on both sides.
		io.Copy(out, con.Master)
	})
	r := runner.Runner{Notes: c.notes}
	err := r.Run(ctx, p)
	con.Slave.Close()
	wg.Wait()
	return err
}

// Close discards the container's snapshot (unmounting it) and lets prune
// run again.
func (c *Container) Close() error {
	var err error
	if c.active != nil {
		err = c.active.Remove()
		c.active = nil
	}
	if c.unlock != nil {
		c.unlock()
		c.unlock = nil
	}
	return err
}

// args is the command line as Docker builds it: Entrypoint followed by
// Cmd; --entrypoint drops the image's Cmd, arguments after the image
// replace it.
func (rc Config) args(cfg imageconfig.Config) ([]string, error) {
	ep, cmd := cfg.Entrypoint, cfg.Cmd
	if rc.EntrypointSet {
		ep, cmd = rc.Entrypoint, nil
	}
	if len(rc.Cmd) > 0 {
		cmd = rc.Cmd
	}
	args := append(append([]string{}, ep...), cmd...)
	if len(args) == 0 || args[0] == "" {
		return nil, ErrNoCommand
	}
	return args, nil
}

// unpackImage makes sure the stored image's layer chain is unpacked and
// returns its directories, bottom first. A layer still in the registry
// (a base image a build left lazy) streams from it, its pull shown on p.
func unpackImage(ctx context.Context, root *root.Root, digest string, p *progress.Printer) ([]string, error) {
	img, _, err := root.Images.Image(ctx, digest)
	if err != nil {
		return nil, err
	}
	ls, err := ops.ImageLayers(img)
	if err != nil {
		return nil, err
	}
	var report func(id, label string, done, total int64)
	if p != nil {
		report = p.Transfer
	}
	layers := make([]snapshot.Layer, len(ls))
	for i, l := range ls {
		layers[i] = snapshot.Layer{DiffID: l.DiffID, Open: ops.Uncompressed(root.Content, l, report)}
	}
	return root.Snapshots.Unpack(ctx, layers)
}

// mkdirIn creates dir (absolute, as the container sees it) inside the
// tree at rootfs; os.Root keeps it there whatever symlinks the image has.
// A path through an absolute symlink (which os.Root refuses) is left to
// the sandbox, which resolves it after pivot_root and names it when it is
// missing.
func mkdirIn(rootfs, dir string) error {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	rel := filepath.Clean("/" + dir)[1:]
	if rel == "" {
		return nil
	}
	fi, err := root.Stat(rel)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s exists and is not a directory", dir)
	case err == nil, !errors.Is(err, fs.ErrNotExist):
		return nil
	}
	if err := root.MkdirAll(rel, 0o755); err != nil && !strings.Contains(err.Error(), "escapes") {
		return err
	}
	return nil
}

func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

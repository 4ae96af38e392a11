package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/gorae/gorae/container"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/runner"
)

// exitStatus is how `gorae run` ends: with the command's own exit code,
// or, as docker run, 125 for gorae's own errors and 126/127 for a command
// that could not be executed / was not found. err, when set, is printed.
type exitStatus struct {
	code int
	err  error
}

func (e exitStatus) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit code %d", e.code)
}

func (e exitStatus) Unwrap() error { return e.err }

// Exit codes of docker run for errors of its own.
const (
	codeOwnError = 125
	codeKilled   = 128 + int(syscall.SIGKILL)
)

// forwarded are the signals gorae passes on to the container's command,
// as docker run's sig-proxy does.
func forwarded() []os.Signal {
	return []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}
}

// errKilled is the cause of the run context after the third Ctrl-C.
var errKilled = errors.New("killed after 3 interrupts")

type runFlags struct {
	interactive, tty   bool
	env, envFiles, vol []string
	entrypoint         string
	insecure           []string
	addHosts, ulimits  []string
	shmSize            string
	platform           string
}

func runRun(ctx context.Context, args []string) error {
	fs := newFlags("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]")
	// Everything after the image is the command's, flags included.
	fs.SetInterspersed(false)
	var f runFlags
	var o container.Options
	fs.Bool("rm", false, "accepted for docker compatibility: gorae always discards a container when its command ends")
	fs.BoolVarP(&f.interactive, "interactive", "i", false, "pass gorae's stdin to the command (default: /dev/null)")
	fs.BoolVarP(&f.tty, "tty", "t", false, "give the command a pseudo-terminal")
	fs.StringArrayVarP(&f.env, "env", "e", nil, "set an environment variable K=V; K alone takes gorae's own value")
	fs.StringArrayVar(&f.envFiles, "env-file", nil, "read environment variables from a file of K=V lines")
	fs.StringArrayVarP(&f.vol, "volume", "v", nil, "bind a host path: /host/path:/container/path[:ro|rw]")
	fs.StringVarP(&o.Config.Workdir, "workdir", "w", "", "working directory in the container (created when missing)")
	fs.StringVarP(&o.Config.User, "user", "u", "", "user to run as: name|uid[:group|gid]")
	fs.StringArrayVar(&f.addHosts, "add-host", nil, "add HOST:IP to /etc/hosts (repeatable)")
	fs.StringArrayVar(&f.ulimits, "ulimit", nil, "resource limit NAME=SOFT[:HARD], e.g. nofile=1024:2048 (repeatable)")
	fs.StringVar(&f.shmSize, "shm-size", "", "size of /dev/shm, e.g. 128m (default 64m)")
	fs.StringArrayVar(&o.Config.GroupAdd, "group-add", nil, "add the user to a group: a name in the image's /etc/group or a gid (repeatable)")
	fs.StringVar(&o.Network, "network", "default", "network: default or host (the host's network), none (only lo)")
	fs.StringVar(&f.entrypoint, "entrypoint", "", "replace the image's ENTRYPOINT (and drop its CMD); \"\" clears it")
	fs.StringVarP(&o.Hostname, "hostname", "h", "", "the container's host name (default: its id)")
	fs.StringArrayVar(&f.insecure, "insecure-registry", nil, "talk plain HTTP to this registry host[:port] when pulling")
	fs.StringVar(&f.platform, "platform", "", "run the image for this platform os/arch[/variant] (default: this machine; another architecture needs binfmt_misc emulation)")
	if err := parse(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return exitStatus{codeOwnError, err}
	}
	if err := f.apply(fs, &o); err != nil {
		return exitStatus{codeOwnError, err}
	}
	p, _ := progress.New(os.Stderr, "plain")
	o.Progress = p
	o.Registry = registry.Options{Insecure: f.insecure}
	return withRoot(func(root *root.Root) error {
		c, err := container.New(ctx, root, o)
		if err != nil {
			if ctx.Err() != nil {
				return err // interrupted before the container started
			}
			return exitStatus{codeOwnError, err}
		}
		defer func() {
			if err := c.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "gorae: %v\n", err)
			}
		}()
		return attach(ctx, c, f)
	})
}

// apply checks the flags and arguments and fills o with them.
func (f runFlags) apply(fs *pflag.FlagSet, o *container.Options) error {
	if fs.NArg() == 0 {
		return usagef("run needs an image, e.g. gorae run busybox echo hello")
	}
	o.Image, o.Config.Cmd, o.Tty = fs.Arg(0), fs.Args()[1:], f.tty
	if f.platform != "" {
		p, err := images.ParsePlatform(f.platform)
		if err != nil {
			return usageError{err}
		}
		o.Platform = p
	}
	if fs.Changed("entrypoint") {
		o.Config.EntrypointSet = true
		if f.entrypoint != "" {
			o.Config.Entrypoint = []string{f.entrypoint}
		}
	}
	switch o.Network {
	case "default", "host", "none":
	default:
		return usagef("--network %q: use default, host or none (gorae has no container networks)", o.Network)
	}
	for _, file := range f.envFiles {
		kvs, err := readEnvFile(file)
		if err != nil {
			return err
		}
		o.Config.Env = append(o.Config.Env, kvs...)
	}
	for _, e := range f.env {
		kv, ok, err := envValue(e)
		if err != nil {
			return usagef("-e %q: %v", e, err)
		}
		if ok {
			o.Config.Env = append(o.Config.Env, kv)
		}
	}
	for _, v := range f.vol {
		vol, err := parseVolume(v)
		if err != nil {
			return err
		}
		o.Volumes = append(o.Volumes, vol)
	}
	return f.limits(o)
}

// limits applies --add-host, --ulimit and --shm-size, parsed as the
// build flags of the same names.
func (f runFlags) limits(o *container.Options) error {
	for _, h := range f.addHosts {
		hs, err := parseAddHost(h)
		if err != nil {
			return err
		}
		for _, kv := range hs {
			host, ip, _ := strings.Cut(kv, "=")
			o.Limits.ExtraHosts = append(o.Limits.ExtraHosts, runner.HostIP{Host: host, IP: ip})
		}
	}
	for _, u := range f.ulimits {
		l, err := runner.ParseUlimit(u)
		if err != nil {
			return usagef("--ulimit: %v", err)
		}
		o.Limits.Ulimits = append(o.Limits.Ulimits, l)
	}
	if f.shmSize != "" {
		n, err := parseBytes(f.shmSize)
		if err != nil || n <= 0 {
			return usagef("invalid --shm-size %q: use a size such as 128m or 1g", f.shmSize)
		}
		o.Limits.ShmSize = n
	}
	return nil
}

// envValue turns K=V into itself and K into K=<gorae's own value>; ok is
// false for a K gorae does not have (docker then leaves it unset).
func envValue(s string) (kv string, ok bool, err error) {
	k, _, hasValue := strings.Cut(s, "=")
	if k == "" || strings.ContainsAny(k, " \t") {
		return "", false, errors.New("the variable name is empty or has spaces: use K=V")
	}
	if hasValue {
		return s, true, nil
	}
	v, ok := os.LookupEnv(k)
	return k + "=" + v, ok, nil
}

// readEnvFile reads docker's env-file format: K=V or K per line, blank
// lines and lines starting with # ignored, values taken verbatim.
func readEnvFile(name string) ([]string, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, usagef("--env-file: %v", err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kv, ok, err := envValue(line)
		if err != nil {
			return nil, usagef("--env-file %s:%d: %v", name, n, err)
		}
		if ok {
			out = append(out, kv)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--env-file %s: %w", name, err)
	}
	return out, nil
}

// parseVolume parses -v /host/path:/container/path[:ro|rw].
func parseVolume(s string) (container.Volume, error) {
	parts := strings.Split(s, ":")
	if len(parts) == 1 {
		return container.Volume{}, usagef("-v %s: anonymous volumes are not supported: bind a host path, e.g. -v /host/dir:%s", s, s)
	}
	if len(parts) > 3 {
		return container.Volume{}, usagef("-v %s: too many colons: use /host/path:/container/path[:ro|rw]", s)
	}
	v := container.Volume{Source: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			v.ReadOnly = true
		case "rw":
		default:
			return container.Volume{}, usagef("-v %s: unknown option %q: use ro or rw", s, parts[2])
		}
	}
	if !filepath.IsAbs(v.Source) {
		return container.Volume{}, usagef("-v %s: %q is not an absolute host path, and named volumes are not supported: use e.g. -v \"$PWD/%s:%s\"", s, v.Source, v.Source, v.Target)
	}
	if _, err := os.Stat(v.Source); err != nil {
		return container.Volume{}, usagef("-v %s: host path %s does not exist: create it first", s, v.Source)
	}
	if !path.IsAbs(v.Target) {
		return container.Volume{}, usagef("-v %s: container path %q must be absolute", s, v.Target)
	}
	return v, nil
}

// attach runs the container with gorae's stdio (or a pseudo-terminal),
// forwarding signals, and turns the outcome into gorae's exit status.
func attach(ctx context.Context, c *container.Container, f runFlags) error {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded()...)
	defer signal.Stop(sigs)
	// main's context ends with the first Ctrl-C; from here on Ctrl-C is
	// the command's, and only the third one kills it.
	if err := ctx.Err(); err != nil {
		return err
	}
	runCtx, kill := context.WithCancelCause(context.WithoutCancel(ctx))
	defer kill(nil)
	fwd := make(chan os.Signal, 8)
	go proxySignals(runCtx, sigs, fwd, kill)

	rio := container.IO{Stdout: os.Stdout, Stderr: os.Stderr, Signals: fwd}
	if f.interactive {
		rio.Stdin = os.Stdin
	}
	if f.tty {
		con, err := runner.NewConsole()
		if err != nil {
			return exitStatus{codeOwnError, err}
		}
		defer con.Close()
		rio.Console = con
		if f.interactive && isTerminal(os.Stdin) {
			restore, err := makeRaw(os.Stdin)
			if err != nil {
				return exitStatus{codeOwnError, fmt.Errorf("put the terminal in raw mode: %w", err)}
			}
			defer restore() // also on a panic
		}
		stopResize := followSize(con)
		defer stopResize()
	}
	err := c.Run(runCtx, rio)
	var ee *runner.ExitError
	var ce *runner.CommandError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return exitStatus{code: ee.Code}
	case errors.As(err, &ce):
		return exitStatus{ce.Code, err}
	case errors.Is(err, errKilled):
		return exitStatus{code: codeKilled}
	}
	return exitStatus{codeOwnError, err}
}

// proxySignals forwards gorae's signals to the command until ctx ends;
// the third Ctrl-C kills the container instead.
func proxySignals(ctx context.Context, in <-chan os.Signal, out chan<- os.Signal, kill context.CancelCauseFunc) {
	interrupts := 0
	for {
		select {
		case s := <-in:
			if s == syscall.SIGINT {
				if interrupts++; interrupts >= 3 {
					fmt.Fprintln(os.Stderr, "gorae: got 3 interrupts: killing the container")
					kill(errKilled)
					continue
				}
			}
			select {
			case out <- s:
			default: // the command is not taking them (still starting, or gone)
			}
		case <-ctx.Done():
			return
		}
	}
}

// followSize gives the container's terminal the size of gorae's and
// keeps it in step on SIGWINCH until stop is called.
func followSize(con *runner.Console) (stop func()) {
	resize := func() {
		if rows, cols, ok := termSize(os.Stdin, os.Stdout); ok {
			_ = con.Resize(rows, cols)
		}
	}
	resize()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				resize()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
	}
}

package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Process is one command to run in a fresh sandbox.
type Process struct {
	Rootfs   string   // directory to pivot_root into, assembled by the caller (e.g. an overlay mount)
	Args     []string // argv; Args[0] is looked up in the PATH of Env inside Rootfs when it has no "/"
	Env      []string
	Cwd      string // must exist inside Rootfs; "" means "/"
	UID, GID uint32
	Groups   []uint32 // supplementary groups
	Hostname string   // "" means "gorae"
	Network  string   // "default" or "host" (host network namespace), "none" (own namespace with lo up)
	Mounts   []Mount  // applied in order after /proc, /sys and /dev
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
	Insecure bool // RUN --security=insecure: all capabilities, no seccomp, no masked paths
	// Tty, when set, is a pseudo-terminal slave (Console.Slave): the
	// command's stdin, stdout, stderr and controlling terminal, bound at
	// /dev/console. Stdin, Stdout and Stderr are then unused.
	Tty *os.File
	// Signals are sent to the command while it runs (once it was exec'd).
	Signals <-chan os.Signal
	// Isolation is "" (namespaces) or IsolationChroot.
	Isolation string
	// ExtraHosts, when any, make /etc/hosts BuildKit's (loopback names
	// and the host name) plus these entries, instead of the host's file.
	ExtraHosts []HostIP
	// Ulimits are set for the command (setrlimit) before it starts.
	Ulimits []Ulimit
}

// IsolationChroot runs the command without any namespace, chrooted into
// Rootfs with the host's devices copied in: for runtimes that allow no
// namespace at all. It isolates nothing but the file system view: no
// mounts (no /proc, no extra Mounts), the host's network, processes,
// hostname and IPC; the command's process group is killed when it ends.
const IsolationChroot = "chroot"

// Mount is one extra mount inside the sandbox. Type is "bind" (Source is a
// host path) or "tmpfs"; Options are "ro", "rw" and, for tmpfs, anything
// tmpfs takes such as "size=64m" or "mode=1777". Target is absolute inside
// the sandbox and is created when missing.
type Mount struct {
	Source  string
	Target  string
	Type    string
	Options []string
}

// ExitError reports a command that exited non-zero or was killed.
type ExitError struct {
	Code   int    // exit status, or 128+signal number when killed
	Signal string // "KILL", "TERM", …; "" when the command exited
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return "killed by signal " + e.Signal
	}
	return fmt.Sprintf("exit code %d", e.Code)
}

// Runner starts sandboxes. Its lifecycle per command: Run re-executes Init
// in new namespaces; Init (the program's Main) reads the Process, builds
// the sandbox, switches user, drops privileges and execs the command,
// which becomes PID 1 of the new PID namespace; Run waits for it and
// returns nil, an *ExitError, a setup error, or the context's error after
// a cancel killed it.
type Runner struct {
	// Init is the binary re-executed as the sandbox init, usually
	// "/proc/self/exe"; its main must call Main first.
	Init string
	// Notes, when set, hears of fallbacks a sandbox took (a bind of
	// /proc where a new one could not be mounted); nil drops them.
	Notes func(msg string)
}

// initArg0 is the argv[0] that tells Main it is the sandbox init. argv[0]
// rather than an environment variable, so nothing leaks into the command.
const initArg0 = "gorae-runner-init"

// killGrace bounds how long Run waits for the command's output pipes after
// it was killed.
const killGrace = 2 * time.Second

// spec is what the parent sends to the init on the config pipe.
type spec struct {
	Rootfs    string
	Args      []string
	Env       []string
	Cwd       string
	UID, GID  uint32
	Groups    []uint32
	Hostname  string
	Network   string
	Mounts    []Mount
	Insecure  bool
	Console   bool // stdin is a terminal to bind at /dev/console
	Isolation string
	HostsFile string // host file to bind at /etc/hosts; "" = the host's /etc/hosts
	Ulimits   []Ulimit
}

// Run runs p to completion in a new sandbox. It returns an *ExitError when
// the command exits non-zero, and the context's error when ctx is done
// first (the command and everything it started are then killed).
func (r *Runner) Run(ctx context.Context, p Process) error {
	s, err := newSpec(p)
	if err != nil {
		return err
	}
	if len(p.ExtraHosts) > 0 {
		hosts, cleanup, err := writeHosts(s.Hostname, p.ExtraHosts)
		if err != nil {
			return err
		}
		defer cleanup()
		s.HostsFile = hosts
	}
	cfg, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode sandbox spec: %w", err)
	}
	init := r.Init
	if init == "" {
		init = "/proc/self/exe"
	}

	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create config pipe: %w", err)
	}
	defer cfgR.Close()
	defer cfgW.Close()
	statR, statW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create status pipe: %w", err)
	}
	defer statR.Close()
	defer statW.Close()

	cmd := exec.CommandContext(ctx, init)
	cmd.Args = []string{initArg0}
	cmd.Env = []string{}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.Stdin, p.Stdout, p.Stderr
	cmd.ExtraFiles = []*os.File{cfgR, statW} // fd 3 and 4 in the init
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC)
	if s.Network == "none" {
		flags |= unix.CLONE_NEWNET
	}
	chroot := s.Isolation == IsolationChroot
	if chroot {
		flags = 0
		undo, err := prepareChroot(s.Rootfs)
		if err != nil {
			return err
		}
		defer undo() // when Run returns: after the command's process group is killed
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL, Setpgid: chroot}
	if p.Tty != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = p.Tty, p.Tty, p.Tty
		// A session of its own with the slave (fd 0) as controlling terminal.
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
		cmd.SysProcAttr.Setpgid = false // a new session is a new process group too
	}
	// The command is PID 1 of its namespace: killing it kills every
	// process it started. In a chroot, its process group is what it
	// started (a process that made a session of its own escapes).
	cmd.Cancel = func() error {
		if chroot {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		return cmd.Process.Kill()
	}
	cmd.WaitDelay = killGrace

	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) && !chroot {
			return fmt.Errorf("start sandbox init %s: %w: namespaces cannot be made here (a container without CAP_SYS_ADMIN, or its seccomp profile); run gorae with deploy/seccomp/gorae.json and CAP_SYS_ADMIN, rootless, or, without any isolation, with --isolation=chroot (docs/rootless.md)", init, err)
		}
		return fmt.Errorf("start sandbox init %s: %w", init, err)
	}
	cfgR.Close()
	statW.Close()
	// The pipe holds 64 KiB; a larger spec (a huge environment) must not
	// block the init's reads against our wait.
	cfgErr := make(chan error, 1)
	go func() {
		_, err := cfgW.Write(cfg)
		cfgW.Close()
		cfgErr <- err
	}()
	// The init closes the status pipe by exec (close-on-exec) or writes
	// why its setup failed before exiting.
	raw, _ := io.ReadAll(statR)
	notes, msg := splitNotes(string(raw))
	if r.Notes != nil {
		for _, n := range notes {
			r.Notes(n)
		}
	}
	stopSignals := make(chan struct{})
	if len(msg) == 0 && p.Signals != nil {
		go forwardSignals(cmd.Process, p.Signals, stopSignals)
	}
	werr := cmd.Wait()
	close(stopSignals)
	if chroot {
		// What the command left behind in its process group.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err := <-cfgErr; err != nil && len(msg) == 0 && ctx.Err() == nil {
		return fmt.Errorf("send sandbox spec: %w", err)
	}
	if len(msg) > 0 {
		return decodeStatus(msg, p.Args[0])
	}
	if ctx.Err() != nil && werr != nil {
		return fmt.Errorf("run %s: %w", p.Args[0], context.Cause(ctx))
	}
	return exitError(werr)
}

func newSpec(p Process) (spec, error) {
	if len(p.Args) == 0 || p.Args[0] == "" {
		return spec{}, errors.New("run: no command given")
	}
	if p.Rootfs == "" {
		return spec{}, errors.New("run: no root file system given")
	}
	s := spec{
		Rootfs: p.Rootfs, Args: p.Args, Env: p.Env, Cwd: p.Cwd,
		UID: p.UID, GID: p.GID, Groups: p.Groups, Hostname: p.Hostname,
		Network: p.Network, Mounts: p.Mounts, Insecure: p.Insecure,
		Console: p.Tty != nil, Isolation: p.Isolation, Ulimits: p.Ulimits,
	}
	if s.Cwd == "" {
		s.Cwd = "/"
	}
	if s.Hostname == "" {
		s.Hostname = "gorae"
	}
	switch s.Network {
	case "", "default", "host":
		s.Network = "host"
	case "none":
	default:
		return spec{}, fmt.Errorf("run: unknown network mode %q: use default, host or none", p.Network)
	}
	switch s.Isolation {
	case "":
	case IsolationChroot:
		if len(s.Mounts) > 0 {
			return spec{}, fmt.Errorf("run: --isolation=chroot cannot mount %s: it makes no mount (drop the RUN --mount, or run with namespaces)", s.Mounts[0].Target)
		}
		if s.Network == "none" {
			return spec{}, errors.New("run: --isolation=chroot has only the host's network: --network=none needs namespaces")
		}
		if len(p.ExtraHosts) > 0 {
			return spec{}, errors.New("run: --isolation=chroot cannot give RUN its own /etc/hosts: --add-host needs namespaces")
		}
	default:
		return spec{}, fmt.Errorf("run: unknown isolation %q: use chroot, or none for namespaces", s.Isolation)
	}
	for _, m := range s.Mounts {
		if m.Type != "bind" && m.Type != "tmpfs" {
			return spec{}, fmt.Errorf("run: mount on %s has type %q: use bind or tmpfs", m.Target, m.Type)
		}
		if !strings.HasPrefix(m.Target, "/") {
			return spec{}, fmt.Errorf("run: mount target %q is not absolute", m.Target)
		}
	}
	return s, nil
}

// exitError turns what exec.Cmd.Wait returned into nil or an *ExitError.
func exitError(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok {
		return err
	}
	if ws.Signaled() {
		return &ExitError{Code: 128 + int(ws.Signal()), Signal: strings.TrimPrefix(unix.SignalName(ws.Signal()), "SIG")}
	}
	return &ExitError{Code: ws.ExitStatus()}
}

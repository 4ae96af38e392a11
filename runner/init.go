package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Fds the parent hands the init through exec.Cmd.ExtraFiles.
const (
	configFd = 3
	statusFd = 4
)

// setupFailed is the init's exit code when the sandbox could not be built;
// the reason travels on the status pipe, not in the code.
const setupFailed = 125

// The sandbox init takes over while the program initializes, in this
// package's init. Go initializes, step by step, the first package by
// import path whose imports are all initialized. runner imports only the
// standard library and x/sys/unix, so it comes once those are done: the
// packages sorting before golang.org/x/sys/unix that are ready by then
// initialize first (about 10 ms, distribution/reference's regexps the
// largest), but everything else a gorae binary holds comes after and is
// never initialized in a sandbox init (compose-go's JSON schemas alone
// take 10 ms). That is 12 to 20 ms of every RUN step.
func init() { Main() }

// Main builds the sandbox and execs the command, and never returns, when
// this process is a sandbox init (started by Run); everywhere else it
// returns false at once. runner's init calls it; a program's main may call
// it again first thing, where it returns false.
func Main() bool {
	if len(os.Args) != 1 || os.Args[0] != initArg0 {
		return false
	}
	// Capabilities, no_new_privs and seccomp are per thread, and the
	// thread that execs is the one whose set the command inherits.
	runtime.LockOSThread()
	unix.CloseOnExec(statusFd)
	err := initSandbox()
	// Only reached when the exec did not happen.
	status := os.NewFile(statusFd, "status")
	fmt.Fprint(status, encodeStatus(err))
	status.Close()
	// The init has no caller to return to: exiting is how it reports.
	os.Exit(setupFailed)
	return true
}

func initSandbox() error {
	cfg := os.NewFile(configFd, "config")
	var s spec
	err := json.NewDecoder(cfg).Decode(&s)
	cfg.Close()
	if err != nil {
		return fmt.Errorf("read sandbox spec: %w", err)
	}
	if s.Isolation == IsolationChroot {
		if err := enterChroot(&s); err != nil {
			return err
		}
		return startCommand(&s)
	}
	if s.Network == "none" {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if err := buildRoot(&s); err != nil {
		return err
	}
	if s.Console {
		if err := bindConsole(s.Rootfs); err != nil {
			return err
		}
	}
	if err := pivotRoot(s.Rootfs); err != nil {
		return err
	}
	if !s.Insecure {
		if err := maskProc(); err != nil {
			return err
		}
	}
	if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
		return fmt.Errorf("set hostname %s: %w", s.Hostname, err)
	}
	return startCommand(&s)
}

// startCommand finds the command in the sandbox's root, drops privileges
// and execs it: the last steps of every isolation.
func startCommand(s *spec) error {
	argv0, err := lookPath(s.Args[0], s.Env)
	if err != nil {
		return err
	}
	// Before capabilities are dropped: raising a hard limit needs
	// CAP_SYS_RESOURCE.
	if err := setRlimits(s.Ulimits); err != nil {
		return err
	}
	if !s.Insecure {
		// Needs CAP_SETPCAP, which a switch to a non-root uid clears.
		if err := dropBounding(); err != nil {
			return err
		}
	}
	if err := switchUser(s); err != nil {
		return err
	}
	// A credential change clears the parent-death signal Run asked for;
	// re-arm it so the command dies with a killed gorae.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set parent-death signal: %w", err)
	}
	if err := os.Chdir(s.Cwd); err != nil {
		return fmt.Errorf("change to working directory %s: %w", s.Cwd, err)
	}
	if !s.Insecure {
		if err := restrict(s.UID); err != nil {
			return err
		}
	}
	err = unix.Exec(argv0, s.Args, s.Env)
	return execError(s.Args[0], err)
}

// defaultPath is Docker's PATH for a command whose environment has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath resolves name inside the sandbox's root the way a shell would.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	p := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			p = v
		}
	}
	for _, dir := range strings.Split(p, ":") {
		if dir == "" {
			dir = "."
		}
		f := path.Join(dir, name)
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return f, nil
		}
	}
	return "", &CommandError{Code: 127, Msg: fmt.Sprintf("%s: executable file not found in PATH %s: use an absolute path or install it in the image", name, p)}
}

// switchUser sets groups, gid and uid. The syscall package applies them to
// every thread of the init, not just this one.
func switchUser(s *spec) error {
	groups := make([]int, len(s.Groups))
	for i, g := range s.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		// A user namespace that maps only its creator denies setgroups
		// (see user_namespaces(7)): the groups inherited stay, unmapped,
		// as nogroup, and the caller hears of supplementary groups lost.
		if !errors.Is(err, syscall.EPERM) || !setgroupsDenied() {
			return fmt.Errorf("set supplementary groups %v: %w", s.Groups, err)
		}
		if len(groups) > 1 || (len(groups) == 1 && groups[0] != int(s.GID)) {
			note(fmt.Sprintf("supplementary groups %v not set: this user namespace maps only your own user and forbids setgroups; give your user ranges in /etc/subuid and /etc/subgid and install newuidmap", s.Groups))
		}
	}
	if err := syscall.Setgid(int(s.GID)); err != nil {
		return fmt.Errorf("set gid %d: %w", s.GID, err)
	}
	if err := syscall.Setuid(int(s.UID)); err != nil {
		return fmt.Errorf("set uid %d: %w", s.UID, err)
	}
	return nil
}

// setgroupsDenied reports whether this user namespace forbids setgroups.
func setgroupsDenied() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err == nil && strings.TrimSpace(string(b)) == "deny"
}

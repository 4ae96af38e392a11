package rootless

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// childEnv marks the re-executed gorae; its value is the mapping mode.
// parentEnv is the pid of the user's gorae, which the child must not
// outlive.
const (
	childEnv  = "_GORAE_USERNS"
	parentEnv = "_GORAE_USERNS_PARENT"
)

// Mapping modes, the value of childEnv.
const (
	mapSubIDs = "subids" // newuidmap/newgidmap: 0 = the user, 1–65536 = the ranges
	mapSingle = "single" // only 0 = the user
	mapDone   = "mapped" // subids, executed again with the mapping in place
)

// syncFd is where a child mapped by newuidmap waits for the mapping.
const syncFd = 3

// waiter runs waitScript, which waits on syncFd for the mapping and then
// executes gorae ($0) with its arguments. Without it, gorae waits itself
// and executes again (Child), which costs a second start of gorae.
const (
	waiter     = "/bin/sh"
	waitScript = `read -r _ <&3; exec 3<&-; exec "$0" "$@"`
)

// Options say how to re-execute gorae.
type Options struct {
	// Root is the gorae root the child uses, chosen by the user's own
	// process (as root, the child would otherwise pick /var/lib/gorae).
	Root string
	// Warn prints a warning (no subordinate ids, no newuidmap).
	Warn func(format string, args ...any)
}

// Run re-executes this gorae (with the same arguments) in a new user and
// mount namespace and returns its exit code, or an error when the
// namespace cannot be made. Signals meant for gorae are passed on.
func Run(o Options) (int, error) {
	// Kernel settings are read only to explain a refused namespace: an
	// AppArmor profile may allow gorae what the sysctl forbids others.
	uid, gid := os.Getuid(), os.Getgid()
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	runtimeDir, err := runtimeDir(uid)
	if err != nil {
		return 0, err
	}
	env := append(os.Environ(), "GORAE_ROOT="+o.Root, "TMPDIR="+runtimeDir, parentEnv+"="+strconv.Itoa(os.Getpid()))
	subUID, okU, errU := subIDs("/etc/subuid", name, uid)
	subGID, okG, errG := subIDs("/etc/subgid", name, uid)
	var why string
	uidmap, gidmap, herr := helpers()
	switch {
	case errors.Join(errU, errG) != nil:
		why = errors.Join(errU, errG).Error()
	case !okU || !okG:
		why = fmt.Sprintf("user %s has no range in /etc/subuid and /etc/subgid (as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s)", name, name)
	case herr != nil:
		why = herr.Error()
	}
	if why == "" {
		code, err := runChild(env, func(pid int) error {
			gidErr := make(chan error, 1)
			go func() { gidErr <- runHelper(gidmap, pid, mapArgs(gid, subGID)) }()
			return errors.Join(runHelper(uidmap, pid, mapArgs(uid, subUID)), <-gidErr)
		})
		if err == nil {
			return code, nil
		}
		if errors.Is(err, ErrNoUserNS) {
			return 0, err
		}
		why = err.Error()
	}
	o.Warn("rootless with only your own user mapped (as root in the build): %s; a RUN or COPY that gives a file to another user will fail", why)
	return runChild(env, nil)
}

// runChild starts gorae in new user and mount namespaces; mapWith, when
// set, maps the child's ids while it waits, else only the user is
// mapped, to root.
func runChild(env []string, mapWith func(pid int) error) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	mode := mapSingle
	if mapWith != nil {
		mode = mapSubIDs
		if _, err := os.Stat(waiter); err == nil {
			// A shell waits for the mapping, then starts gorae as root
			// of the namespace (with its capabilities): one start of
			// gorae instead of two.
			cmd = exec.Command(waiter, append([]string{"-c", waitScript, exe}, os.Args[1:]...)...)
			mode = mapDone
		}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		Pdeathsig:  syscall.SIGKILL,
		Setpgid:    true, // see signals.go
	}
	if tty, ok := foreground(); ok {
		defer tty.Close()
		defer takeBack(tty)
		// The descriptor is the child's too until it executes.
		cmd.SysProcAttr.Foreground, cmd.SysProcAttr.Ctty = true, int(tty.Fd())
	}
	var syncW *os.File
	if mapWith != nil {
		syncR, w, err := os.Pipe()
		if err != nil {
			return 0, fmt.Errorf("rootless: %w", err)
		}
		defer syncR.Close()
		defer w.Close()
		syncW = w
		cmd.ExtraFiles = []*os.File{syncR} // syncFd
		cmd.Env = append(env, childEnv+"="+mode)
	} else {
		cmd.Env = append(env, childEnv+"="+mode)
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		cmd.SysProcAttr.GidMappingsEnableSetgroups = false
	}
	// Signals are caught before the child starts, so none is lost.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, cloneDenied(err)
	}
	if mapWith != nil {
		cmd.ExtraFiles[0].Close()
		if err := mapWith(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return 0, err
		}
		syncW.Write([]byte("\n"))
		syncW.Close()
	}
	done := make(chan struct{})
	go forward(cmd.Process, sigs, done)
	err = cmd.Wait()
	close(done)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("rootless: %w", err)
	}
	return 0, nil
}

// runHelper runs newuidmap or newgidmap for pid with args.
func runHelper(helper string, pid int, args []string) error {
	out, err := exec.Command(helper, append([]string{strconv.Itoa(pid)}, args...)...).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("%s %d %v failed (%v): %s", filepath.Base(helper), pid, args, err, strings.TrimSpace(string(out)))
		if bytes.Contains(out, []byte("denied")) || bytes.Contains(out, []byte("not permitted")) {
			msg += "; in a container that drops capabilities, the helpers need file capabilities (setcap cap_setuid=ep newuidmap, cap_setgid=ep newgidmap) with SETUID and SETGID kept, as gorae's image and deploy/kubernetes have them"
		}
		return errors.New(msg)
	}
	return nil
}

// runtimeDir is where the rootless gorae keeps runtime files (its
// TMPDIR): $XDG_RUNTIME_DIR/gorae, else a private /tmp/gorae-run-UID (as
// under runuser or in a pod, where XDG_RUNTIME_DIR is unset), which must
// be the user's own.
func runtimeDir(uid int) (string, error) {
	dir := filepath.Join(os.TempDir(), "gorae-run-"+strconv.Itoa(uid))
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
		dir = filepath.Join(x, "gorae")
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("create runtime directory %s: %w (set XDG_RUNTIME_DIR to a directory of yours)", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return "", fmt.Errorf("runtime directory %s: %w", dir, err)
	}
	if int(st.Uid) != uid || st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Mode&0o077 != 0 {
		return "", fmt.Errorf("runtime directory %s is not a private directory of uid %d: remove it or set XDG_RUNTIME_DIR to a directory of yours", dir, uid)
	}
	return dir, nil
}

// Child reports whether this process is gorae re-executed by Run and, if
// so, prepares it: it waits until its ids are mapped and makes every
// mount private, so nothing gorae mounts is seen outside. Call it first
// thing in main (after the sandbox init's check).
func Child() (bool, error) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		return false, nil
	}
	os.Unsetenv(childEnv)
	if mode == mapSubIDs {
		sync := os.NewFile(syncFd, "rootless-sync")
		_, err := io.ReadFull(sync, make([]byte, 1))
		sync.Close()
		if err != nil {
			return true, fmt.Errorf("rootless: wait for the id mapping: %w", err)
		}
		// Capabilities are computed at execve: this process started
		// unmapped, so it has none in its namespace until it executes
		// again, now as uid 0.
		env := append(os.Environ(), childEnv+"="+mapDone)
		err = unix.Exec("/proc/self/exe", os.Args, env)
		return true, fmt.Errorf("rootless: execute gorae again in the user namespace: %w", err)
	}
	if os.Geteuid() != 0 {
		return true, fmt.Errorf("rootless: not root in the user namespace (uid %d)", os.Geteuid())
	}
	// Gaining root's capabilities at exec cleared the parent-death signal
	// Run asked for: arm it again, then make sure the parent did not die
	// in between (the child is then the init's).
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return true, fmt.Errorf("rootless: set parent-death signal: %w", err)
	}
	if want := os.Getenv(parentEnv); want != "" && want != strconv.Itoa(os.Getppid()) {
		return true, errors.New("rootless: the gorae that started this one is gone")
	}
	os.Unsetenv(parentEnv)
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return true, fmt.Errorf("rootless: make mounts private: %w", err)
	}
	return true, nil
}

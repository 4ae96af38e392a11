package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/runner"
)

// session is what a RUN gets from the user's machine rather than from the
// build: secrets and forwarded ssh agents. None of it enters the graph,
// the cache key, a layer or the history.
type session struct {
	mounts  []runner.Mount
	env     []string // KEY=VALUE for secrets with env=
	secrets [][]byte // every value the RUN can see, to redact from its output
	undo    []func()
}

// close removes the secret files and stops the agent proxies.
func (s *session) close() {
	for i := len(s.undo) - 1; i >= 0; i-- {
		s.undo[i]()
	}
	s.undo = nil
}

// session prepares the RUN's secret and ssh mounts. Secret files are
// written to a private directory on a memory file system (see
// privateDir) and removed by close, right after the command ends.
func (o *runOp) session(ctx context.Context) (_ *session, err error) {
	s := &session{}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	var dir string
	private := func() (string, error) {
		if dir != "" {
			return dir, nil
		}
		d, err := privateDir(o.env.Tmp)
		if err != nil {
			return "", fmt.Errorf("%s: create a private directory for secrets: %w", o.where(), err)
		}
		s.undo = append(s.undo, func() { os.RemoveAll(d) })
		dir = d
		return d, nil
	}
	nssh := 0
	for _, m := range o.op.Mounts {
		switch m.Type {
		case "secret":
			if err := o.secret(s, m, private); err != nil {
				return nil, err
			}
		case "ssh":
			n := nssh
			nssh++
			if err := o.ssh(ctx, s, m, n, private); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func (o *runOp) secret(s *session, m graph.Mount, private func() (string, error)) error {
	val, ok := o.env.Secrets[m.ID]
	if !ok {
		if m.Required {
			return fmt.Errorf("%s: secret %s is required but was not given: pass --secret id=%s,src=FILE", o.where(), m.ID, m.ID)
		}
		return nil // as BuildKit: an optional secret that is missing is not mounted
	}
	s.secrets = append(s.secrets, val)
	if m.Env != "" {
		s.env = append(s.env, m.Env+"="+string(val))
	}
	if m.Target == "" {
		return nil
	}
	dir, err := private()
	if err != nil {
		return err
	}
	uid, gid, mode, err := mountOwner(m, 0o400)
	if err != nil {
		return fmt.Errorf("%s: --mount=type=secret,id=%s: %w", o.where(), m.ID, err)
	}
	f, err := os.CreateTemp(dir, "secret-")
	if err != nil {
		return fmt.Errorf("%s: write secret %s: %w", o.where(), m.ID, err)
	}
	_, err = f.Write(val)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chown(f.Name(), uid, gid)
	}
	if err == nil {
		err = os.Chmod(f.Name(), mode)
	}
	if err != nil {
		return fmt.Errorf("%s: write secret %s: %w", o.where(), m.ID, err)
	}
	s.mounts = append(s.mounts, runner.Mount{Type: "bind", Source: f.Name(), Target: m.Target, Options: []string{"ro"}})
	return nil
}

// mountOwner reads a mount's uid, gid (default 0) and mode (default def).
func mountOwner(m graph.Mount, def os.FileMode) (uid, gid int, mode os.FileMode, err error) {
	mode = def
	if m.Mode != "" {
		v, err := strconv.ParseUint(m.Mode, 8, 32)
		if err != nil || v > 0o7777 {
			return 0, 0, 0, fmt.Errorf("invalid mode %q: use octal, e.g. mode=0440", m.Mode)
		}
		mode = os.FileMode(v & 0o777)
	}
	if m.UID != "" {
		if uid, err = strconv.Atoi(m.UID); err != nil {
			return 0, 0, 0, fmt.Errorf("invalid uid %q", m.UID)
		}
	}
	if m.GID != "" {
		if gid, err = strconv.Atoi(m.GID); err != nil {
			return 0, 0, 0, fmt.Errorf("invalid gid %q", m.GID)
		}
	}
	return uid, gid, mode, nil
}

// setEnv sets k=v in env, replacing an earlier value: C libraries differ
// in which duplicate getenv returns.
func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	out := make([]string, 0, len(env)+1)
	for _, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek != k {
			out = append(out, e)
		}
	}
	return append(out, kv)
}

// privateDirPrefix names the per-RUN directories of secrets and agent
// sockets; the owner's pid follows it, so a later build can remove the
// leftovers of one that crashed.
const privateDirPrefix = "gorae-run-"

// privateDir creates a directory only root can enter, for one RUN's secret
// files and agent sockets. It prefers /dev/shm: a tmpfs, so secret values
// never reach a disk (only swap could page them out) and a reboot clears
// them even after a crash. Without a tmpfs there it falls back to
// fallback ($GORAE_ROOT/tmp, cleaned at start-up). Short paths also keep
// agent sockets under the 108-byte limit of a unix socket address.
func privateDir(fallback string) (string, error) {
	base := "/dev/shm"
	var st unix.Statfs_t
	if err := unix.Statfs(base, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		base = fallback
	}
	removeStale(base)
	dir, err := os.MkdirTemp(base, privateDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", err
	}
	// MkdirTemp already uses 0700; make sure no umask or ACL widened it.
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// removeStale deletes private directories whose gorae process is gone.
func removeStale(base string) {
	ents, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), privateDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
}

package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ErrNoGit is the error of every operation when the git binary is not
// installed.
var ErrNoGit = errors.New("git is not installed: gorae runs the git binary for git sources; install git (e.g. apt-get install git) or fetch the repository yourself and use a local directory")

// git runs one git command as BuildKit does: no system, global or user
// config, no prompts, file:// submodules refused, ssh without a config
// file and without host key checks, and the caller's proxy variables.
type git struct {
	gitDir   string
	workTree string
	dir      string   // working directory
	env      []string // extra environment (GIT_INDEX_FILE)
	sshSock  string
}

func (g git) with(f func(*git)) git {
	f(&g)
	return g
}

// run returns git's standard output; a failure carries its standard
// error's text.
func (g git) run(ctx context.Context, args ...string) ([]byte, error) {
	bin, err := exec.LookPath("git")
	if err != nil {
		return nil, ErrNoGit
	}
	for {
		full := []string{"-c", "protocol.file.allow=user", "-c", "advice.detachedHead=false"}
		if g.workTree != "" {
			full = append(full, "--work-tree", g.workTree)
		}
		if g.gitDir != "" {
			full = append(full, "--git-dir", g.gitDir)
		}
		full = append(full, args...)
		cmd := exec.CommandContext(ctx, bin, full...)
		cmd.Dir = g.dir
		if cmd.Dir == "" {
			cmd.Dir = g.workTree
		}
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"),
			"GIT_TERMINAL_PROMPT=0",
			"GIT_SSH_COMMAND=ssh -F /dev/null -o StrictHostKeyChecking=no -o BatchMode=yes",
			"LC_ALL=C",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + os.DevNull,
			"GIT_CONFIG_GLOBAL=" + os.DevNull,
		}
		for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy"} {
			if v, ok := os.LookupEnv(k); ok {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
		}
		if g.sshSock != "" {
			cmd.Env = append(cmd.Env, "SSH_AUTH_SOCK="+g.sshSock)
		}
		cmd.Env = append(cmd.Env, g.env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		// git runs helpers (git-remote-http, ssh, index-pack): in a
		// process group of its own, a cancelled build (Ctrl-C) kills
		// them all, not git alone, which would leave them running.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		if err == nil {
			return stdout.Bytes(), nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		msg := stderr.String()
		// Dumb servers cannot fetch shallowly: fetch whole, as BuildKit.
		if strings.Contains(msg, "--depth") || strings.Contains(msg, "shallow") {
			if shorter := without(args, "--depth=1"); len(shorter) < len(args) {
				args = shorter
				continue
			}
		}
		return stdout.Bytes(), &Error{Args: args, Stderr: strings.TrimSpace(msg), Err: err}
	}
}

func without(args []string, drop string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if a != drop {
			out = append(out, a)
		}
	}
	return out
}

// Error is a git command that failed.
type Error struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *Error) Error() string {
	cmd := "git"
	if len(e.Args) > 0 {
		cmd += " " + e.Args[0]
	}
	if e.Stderr == "" {
		return fmt.Sprintf("%s: %v", cmd, e.Err)
	}
	return fmt.Sprintf("%s: %s", cmd, firstLines(e.Stderr, 4))
}

func (e *Error) Unwrap() error { return e.Err }

// firstLines keeps git's first n non-empty lines of complaint (the
// reason comes first: "ssh: connect to host …", "fatal: …"), joined by
// "; ".
func firstLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && len(lines) < n {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

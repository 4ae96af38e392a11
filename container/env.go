package container

import (
	"strings"

	"github.com/gorae/gorae/ops"
)

// containerEnv is a container's environment as Docker builds it: PATH
// (when the image has none), HOSTNAME, TERM=xterm with a tty, then the
// image's Env, each overridden or extended by the caller's (-e,
// --env-file), and HOME from /etc/passwd when nobody set it.
func containerEnv(image, extra []string, hostname, home string, tty bool) []string {
	env := []string{"HOSTNAME=" + hostname}
	if tty {
		env = append(env, "TERM=xterm")
	}
	env = setEnv(env, image)
	env = setEnv(env, extra)
	return ops.WithHome(ops.WithPath(env), home)
}

// setEnv replaces the variables of env that kvs set again and appends
// the rest, keeping the order of first appearance.
func setEnv(env, kvs []string) []string {
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, e := range env {
			if ek, _, _ := strings.Cut(e, "="); ek == k {
				env[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	return env
}

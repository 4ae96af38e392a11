package ops

import "strings"

// WithHome adds HOME when the environment does not set it.
func WithHome(env []string, home string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") {
			return env
		}
	}
	return append(env, "HOME="+home)
}

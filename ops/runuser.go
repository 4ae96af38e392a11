package ops

import (
	"bufio"
	"strconv"
	"strings"

	"github.com/gorae/gorae/archive"
)

// homeDir finds uid's home directory in the image's /etc/passwd, as runc
// sets HOME; "/" when the user has no entry (root gets /root).
func homeDir(fsys archive.FS, uid uint32) string {
	f, err := fsys.Open("etc/passwd")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), ":")
			if len(fields) < 6 {
				continue
			}
			if id, err := strconv.ParseUint(fields[2], 10, 32); err == nil && uint32(id) == uid && fields[5] != "" {
				return fields[5]
			}
		}
	}
	if uid == 0 {
		return "/root"
	}
	return "/"
}

// withHome adds HOME when the environment does not set it.
func withHome(env []string, home string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") {
			return env
		}
	}
	return append(env, "HOME="+home)
}

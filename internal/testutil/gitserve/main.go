// Command gitserve serves the git repositories under a directory over git's
// smart HTTP protocol (`git http-backend`), as a git hosting service does,
// so that BuildKit and gorae can both ADD from the same repository in
// bench/compare-image.sh. It prints its base URL and serves until killed:
//
//	go run ./internal/testutil/gitserve DIR   # DIR/app.git is at URL/app.git
package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gitserve DIR")
		os.Exit(2)
	}
	root, err := filepath.Abs(os.Args[1])
	if err != nil {
		fail(err)
	}
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		fail(fmt.Errorf("git --exec-path: %w (install git)", err))
	}
	h := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + os.DevNull},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	fmt.Printf("http://%s\n", l.Addr())
	fail(http.Serve(l, h))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gitserve:", err)
	os.Exit(1)
}

package builder

import (
	"path/filepath"

	"github.com/gorae/gorae/gitsource"
	"github.com/gorae/gorae/root"
)

// gitClient is the build's git: repositories and checkouts under
// $GORAE_ROOT/git (see docs/git.md), ssh remotes through --ssh default.
func gitClient(r *root.Root, o Options) *gitsource.Client {
	return &gitsource.Client{Dir: filepath.Join(r.Dir, "git"), Tmp: r.Tmp, SSHAuthSock: o.SSH["default"]}
}

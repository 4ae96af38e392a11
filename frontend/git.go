package frontend

import (
	"errors"

	"github.com/gorae/gorae/gitsource"
	"github.com/gorae/gorae/graph"
)

// gitNode is the source node of ADD <git URL>. As BuildKit, --keep-git-dir
// and --checksum must agree with the URL's ?keep-git-dir= and
// ?checksum=; the ref is resolved when the build computes keys.
func gitNode(src, checksum string, keepGitDir *bool) (*graph.Node, error) {
	u, err := gitsource.Parse(src)
	if err != nil {
		return nil, err
	}
	keep := keepGitDir != nil && *keepGitDir
	if u.KeepGitDir != nil {
		if keepGitDir != nil && *keepGitDir != *u.KeepGitDir {
			return nil, errors.New("inconsistent keep-git-dir configuration")
		}
		keep = *u.KeepGitDir
	}
	if checksum != "" && u.Checksum != "" && checksum != u.Checksum {
		return nil, errors.New("checksum mismatch " + checksum + " != " + u.Checksum)
	}
	return &graph.Node{Op: graph.Git{URL: src, Checksum: checksum, KeepGitDir: keep}}, nil
}

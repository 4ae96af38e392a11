package builder

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// defaultEpoch is the epoch of a build without SOURCE_DATE_EPOCH (and
// without --reproducible=false), so that the same inputs give the same
// image anywhere: the commit time of the context's git HEAD when the
// context is a clean git checkout (committed, for a git URL context),
// else the newest created time of the base images the build resolved
// (0, 1970, when it has none).
func defaultEpoch(ctx context.Context, contextDir string, committed *time.Time, res *stepResolver) time.Time {
	if committed != nil {
		return *committed
	}
	if t, ok := gitCommitTime(ctx, contextDir); ok {
		return t
	}
	return res.newestCreated()
}

// gitCommitTime is the commit time of HEAD of the git work tree holding
// dir, if git is installed and nothing under dir differs from HEAD
// (modified, staged or untracked files; ignored ones do not count).
func gitCommitTime(ctx context.Context, dir string) (time.Time, bool) {
	if dir == "" {
		return time.Time{}, false
	}
	git := func(args ...string) (string, bool) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(cmd.Environ(), "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err == nil
	}
	if inside, ok := git("rev-parse", "--is-inside-work-tree"); !ok || inside != "true" {
		return time.Time{}, false
	}
	if status, ok := git("status", "--porcelain", "--untracked-files=normal", "--", "."); !ok || status != "" {
		return time.Time{}, false
	}
	ct, ok := git("log", "-1", "--format=%ct")
	if !ok {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

package builder

import (
	"context"
	"time"

	"github.com/gorae/gorae/gitsource"
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
	if t, ok := gitsource.CleanCommitTime(ctx, contextDir); ok {
		return t
	}
	return res.newestCreated()
}

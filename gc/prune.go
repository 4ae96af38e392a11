package gc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gorae/gorae/root"
)

// PruneOptions select what Prune removes beyond the data nothing
// references (blobs no named image or cache record needs, unpacked
// chains and layer indexes no image or record uses, corrupt records and
// leftovers of killed processes), which it always removes.
type PruneOptions struct {
	// All removes every cache record, unpacked chain, layer index, cache
	// mount, explain record and the stat cache: the next build starts
	// cold.
	All bool
	// Until, if not zero, also removes cache data (records and the blobs
	// only they reference, unpacked chains, cache mounts, explain
	// records) last used longer ago than this. Named images' chains are
	// kept.
	Until time.Duration
	// KeepStorage, if not zero, then removes the least recently used
	// cache data until the build cache (DiskUse.Cache: what prune may
	// remove, not named images' blobs) is at most this many bytes; named
	// images' unpacked chains go only after everything else.
	KeepStorage int64
	// Waiting, if set, is called once when running builds, pulls or
	// containers hold the root, before Prune waits for them: without a
	// word, a prune beside a long build looks hung.
	Waiting func()
}

// Prune garbage-collects root and returns the bytes freed. A named
// image's blobs are never removed. It waits, until ctx ends, for running
// builds, pulls and loads to finish (they hold gc.lock shared).
func Prune(ctx context.Context, root *root.Root, o PruneOptions) (int64, error) {
	unlock, ok, err := root.TryLockExclusive()
	if err != nil {
		return 0, err
	}
	if !ok {
		if o.Waiting != nil {
			o.Waiting()
		}
		if unlock, err = root.Lock(ctx, true); err != nil {
			return 0, err
		}
	}
	trash, err := os.MkdirTemp(root.Tmp, "gc-")
	if err != nil {
		unlock()
		return 0, fmt.Errorf("create trash directory: %w", err)
	}
	defer os.RemoveAll(trash) // after unlock: a build may start meanwhile
	p := policy{all: o.All, keep: o.KeepStorage}
	if o.Until > 0 {
		p.until = time.Now().Add(-o.Until)
	}
	freed, err := collect(ctx, root, p, trash)
	if err == nil {
		err = root.RemoveStepLocks(trash)
	}
	// The stat cache, git repositories and checkouts and extracted
	// remote contexts are rebuilt on demand: --all drops them.
	for _, d := range []string{"statcache", "git", "contexts"} {
		if err == nil && o.All {
			var n int64
			n, err = removeDir(root, trash, d)
			freed += n
		}
	}
	unlock()
	return freed, err
}

// removeDir moves the root's directory name into trash and returns its
// size.
func removeDir(root *root.Root, trash, name string) (int64, error) {
	dir := filepath.Join(root.Dir, name)
	n := (&sizer{seen: map[[2]uint64]bool{}}).tree(dir)
	err := os.Rename(dir, filepath.Join(trash, name))
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("remove %s: %w", name, err)
	}
	return n, nil
}

package gc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/snapshot"
)

// collect removes what p selects and returns the bytes freed. The caller
// holds the exclusive gc.lock, so no build, pull or load is running: no
// snapshot is in use and no blob is between its write and its naming.
// Directories are renamed into trash (inside this process's temp
// directory, same filesystem) rather than deleted; the caller deletes the
// trash after releasing the lock, so other builds wait only for renames.
func collect(ctx context.Context, root *root.Root, p policy, trash string) (int64, error) {
	inv, err := scan(ctx, root, true)
	if err != nil {
		return 0, err
	}
	inv.plan(p)
	return apply(root, inv, trash)
}

// apply removes every planned item, records first (so that no record
// outlives its blobs), and returns the bytes actually freed.
func apply(root *root.Root, inv *inventory, trash string) (int64, error) {
	var freed int64
	var errs []error
	n := 0
	del := func(it *item) {
		if !it.gone {
			return
		}
		var err error
		switch it.kind {
		case kindBlob:
			err = root.Content.Remove(v1.Hash{Algorithm: "sha256", Hex: it.name})
		case kindChain, kindMount, kindStale, kindExplain, kindSource:
			n++
			err = os.Rename(it.path, filepath.Join(trash, strconv.Itoa(n)))
			if err != nil {
				err = os.RemoveAll(it.path)
			}
		default:
			err = os.Remove(it.path)
			if errors.Is(err, os.ErrNotExist) {
				err = nil
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", it.path, err))
			return
		}
		freed += it.size
	}
	// Where the removed chains and cache mounts were, so that new ones
	// avoid those inode groups for a while (snapshot/fresh.go).
	var dirs []string
	for _, it := range inv.chains {
		if it.gone {
			dirs = append(dirs, it.path)
		}
	}
	for _, it := range inv.mounts {
		if it.gone {
			dirs = append(dirs, it.path)
		}
	}
	snapshot.NoteFreed(filepath.Join(root.Dir, "snapshots"), dirs)
	for _, it := range inv.records {
		del(it)
	}
	for _, m := range []map[string]*item{inv.blobs, inv.indexes, inv.chains} {
		for _, it := range m {
			del(it)
		}
	}
	for _, l := range [][]*item{inv.locks, inv.mounts, inv.stale, inv.explains, inv.sources} {
		for _, it := range l {
			del(it)
		}
	}
	return freed, errors.Join(errs...)
}

// Auto runs after a successful build, once the build released its
// shared lock: when the build cache (what prune may remove, see
// inventory.cache) is larger than its budget (see gcBudget), it removes
// the least recently used data down to the budget. It never
// waits: if another build, pull or prune holds the lock it does nothing,
// and a failure is only a warning, since the build itself succeeded.
func Auto(ctx context.Context, root *root.Root, p *progress.Printer) {
	budget, err := budgetFromEnv(root.Dir)
	if errors.Is(err, errGCOff) {
		return
	}
	if err != nil {
		p.Warnf("automatic GC skipped: %v", err)
		return
	}
	freed, err := gcToBudget(ctx, root, budget)
	if err != nil {
		p.Warnf("automatic GC: %v", err)
	}
	if freed > 0 {
		p.Logf("gc: freed %s (budget %s)", progress.FormatSize(freed), progress.FormatSize(budget))
	}
}

// gcToBudget prunes root down to budget bytes if it can take the lock
// at once.
func gcToBudget(ctx context.Context, root *root.Root, budget int64) (int64, error) {
	unlock, ok, err := root.TryLockExclusive()
	if err != nil || !ok {
		return 0, err
	}
	trash, err := os.MkdirTemp(root.Tmp, "gc-")
	if err != nil {
		unlock()
		return 0, fmt.Errorf("create trash directory: %w", err)
	}
	defer os.RemoveAll(trash)
	defer unlock() // runs before the trash is deleted
	// Step locks go after every build that finds the root idle, so that
	// locks/ never grows.
	if err := root.RemoveStepLocks(trash); err != nil {
		return 0, err
	}
	// The size check alone is cheap (see sizes); reading every record and
	// image (to know which blobs images need, which the budget leaves out)
	// is left for when the whole root is over budget.
	now := time.Now()
	if withinBudget(root, budget, now) {
		return 0, nil
	}
	inv, err := sizes(root, true)
	if err != nil {
		return 0, err
	}
	recordCheck(root, inv.total(), now)
	if inv.total() <= budget {
		return 0, nil
	}
	if err := references(ctx, root, inv); err != nil {
		return 0, err
	}
	if inv.cache() <= budget {
		return 0, nil
	}
	inv.plan(policy{keep: budget})
	return apply(root, inv, trash)
}

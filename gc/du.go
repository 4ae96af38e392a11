package gc

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gorae/gorae/root"
)

// DiskUse is the disk use of a gorae root, as `gorae du` shows it.
type DiskUse struct {
	Kinds []KindUse // blobs, snapshots, cache mounts, cache records, explain records
	// Total is everything in the root, including what GC never removes
	// (the image index, the stat cache, running builds' snapshots).
	Total int64
	// Cache is the build cache: what prune may remove, all of Total but
	// named images' blobs and what GC never removes. It is what
	// --keep-storage and GORAE_GC_BUDGET are compared with.
	Cache int64
	// Reclaimable is what Prune without options would free.
	Reclaimable int64
}

// KindUse is the disk use of one kind of data.
type KindUse struct {
	Kind  string
	Count int
	Size  int64
	// InUse counts the items a stored image needs (snapshots: unpacked
	// chains of a named image's layers; blobs: the images' own blobs).
	InUse int
	Items []ItemUse // cache mounts, one per id
}

// ItemUse is one cache mount.
type ItemUse struct {
	Name     string // the directory under $GORAE_ROOT/mounts
	Size     int64
	LastUsed time.Time
}

// DiskUsage reports the disk use of root. Sizes are disk blocks, each
// inode counted once. It holds gc.lock shared, so it runs beside builds
// but waits for a running prune.
func DiskUsage(ctx context.Context, root *root.Root) (*DiskUse, error) {
	unlock, err := root.Lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	inv, err := scan(ctx, root, false)
	if err != nil {
		return nil, err
	}
	du := &DiskUse{Total: inv.total(), Cache: inv.cache()}
	blobs := KindUse{Kind: "blobs"}
	for _, b := range inv.blobs {
		blobs.Count++
		blobs.Size += b.size
		if b.pinned {
			blobs.InUse++
		}
	}
	snaps := KindUse{Kind: "snapshots", Size: inv.fixedSnapshots}
	for _, c := range inv.chains {
		snaps.Count++
		snaps.Size += c.size
		if c.pinned {
			snaps.InUse++
		}
	}
	for _, it := range inv.indexes {
		snaps.Size += it.size
	}
	for _, it := range inv.locks {
		snaps.Size += it.size
	}
	mounts := KindUse{Kind: "cache mounts"}
	for _, it := range inv.stale {
		if strings.HasPrefix(it.path, filepath.Join(root.Dir, "mounts")+"/") {
			mounts.Size += it.size
		} else {
			snaps.Size += it.size
		}
	}
	for _, m := range inv.mounts {
		mounts.Count++
		mounts.Size += m.size
		mounts.Items = append(mounts.Items, ItemUse{Name: m.name, Size: m.size, LastUsed: m.used})
	}
	slices.SortFunc(mounts.Items, func(a, b ItemUse) int { return b.LastUsed.Compare(a.LastUsed) })
	records := KindUse{Kind: "cache records"}
	for _, r := range inv.records {
		records.Count++
		records.Size += r.size
	}
	explains := KindUse{Kind: "explain records"}
	for _, x := range inv.explains {
		explains.Count++
		explains.Size += x.size
	}
	sources := KindUse{Kind: "git and remote contexts"}
	for _, x := range inv.sources {
		sources.Count++
		sources.Size += x.size
	}
	du.Kinds = []KindUse{blobs, snaps, mounts, records, explains, sources}
	du.Reclaimable = inv.plan(policy{})
	return du, nil
}

package gc

import (
	"cmp"
	"slices"
	"time"
)

// itemKind is a kind of data GC can remove.
type itemKind int

const (
	kindRecord  itemKind = iota // cache/<key>
	kindChain                   // snapshots/<chainID>: an unpacked layer chain
	kindMount                   // mounts/<id>: a RUN cache mount
	kindBlob                    // content/blobs/sha256/<hex>
	kindIndex                   // snapshots/index/<diffID>.idx
	kindLock                    // snapshots/<chainID>.lock
	kindStale                   // leftovers of a killed process: .tmp-*, .new-*
	kindExplain                 // explain/<target>: what --explain compares against
	kindSource                  // git/repos/*, git/checkouts/*, contexts/*: fetched sources, fetched again on demand
)

// item is one removable thing in the root. Records reference blobs,
// chains and indexes (deps); refs counts the live records that reference
// an item, so removing the last of them frees it.
type item struct {
	kind   itemKind
	name   string // digest hex, chain ID hex or directory name
	path   string
	size   int64 // disk blocks, in bytes
	used   time.Time
	pinned bool // a named image needs it: blobs are never removed, chains last
	bad    bool // a record that cannot be used: corrupt, or a blob is gone
	refs   int
	deps   []*item
	gone   bool // planned for removal
}

// inventory is everything in the root GC knows about.
type inventory struct {
	records []*item
	blobs   map[string]*item
	chains  map[string]*item
	indexes map[string]*item
	mounts  []*item
	locks   []*item
	stale   []*item
	// explains are --explain's records, one per build target; nothing
	// references them, so only --all, until and keep remove them.
	explains []*item
	// sources are git repositories and checkouts and extracted remote
	// contexts: like explain records, removed by --all, until and keep.
	sources []*item
	// fixed is data GC never removes: active snapshots of running
	// builds, the image store, the stat cache.
	fixed int64
	// fixedSnapshots is the part of fixed under snapshots/ (for du).
	fixedSnapshots int64
}

func newInventory() *inventory {
	return &inventory{blobs: map[string]*item{}, chains: map[string]*item{}, indexes: map[string]*item{}}
}

// link records a live record's references; a chain counts as used
// whenever a record that names it was.
func (inv *inventory) link(r *item) {
	if r.bad {
		return
	}
	for _, d := range r.deps {
		d.refs++
		if d.kind == kindChain && r.used.After(d.used) {
			d.used = r.used
		}
	}
}

// policy says what a collection removes beyond unreferenced data.
type policy struct {
	all   bool      // every record, chain, mount and index
	until time.Time // also data last used before this (zero: no age limit)
	keep  int64     // then, least recently used first, until the build cache fits (0: no limit)
}

// each calls fn for every item.
func (inv *inventory) each(fn func(*item)) {
	for _, l := range [][]*item{inv.records, inv.mounts, inv.locks, inv.stale, inv.explains, inv.sources} {
		for _, it := range l {
			fn(it)
		}
	}
	for _, m := range []map[string]*item{inv.blobs, inv.chains, inv.indexes} {
		for _, it := range m {
			fn(it)
		}
	}
}

// total is the size of what the plan keeps.
func (inv *inventory) total() int64 {
	n := inv.fixed
	inv.each(func(it *item) {
		if !it.gone {
			n += it.size
		}
	})
	return n
}

// cache is the size of what the plan keeps that prune may remove: the
// build cache, as docker's --keep-storage counts it. It leaves out what
// prune never removes, a named image's blobs and the fixed data (image
// index, stat cache, running builds' snapshots), so a root full of
// images can still be held to a small cache budget. A named image's
// unpacked chains count: prune may remove them (they unpack again).
func (inv *inventory) cache() int64 {
	var n int64
	inv.each(func(it *item) {
		if !it.gone && !(it.kind == kindBlob && it.pinned) {
			n += it.size
		}
	})
	return n
}

// remove marks it for removal and, for a record, whatever only it kept
// alive; it returns the bytes that frees. A named image's blobs never go.
func (inv *inventory) remove(it *item) int64 {
	if it.gone || (it.kind == kindBlob && it.pinned) {
		return 0
	}
	it.gone = true
	freed := it.size
	if it.kind == kindRecord && !it.bad {
		for _, d := range it.deps {
			d.refs--
			if d.refs == 0 && !d.pinned {
				freed += inv.remove(d)
			}
		}
	}
	return freed
}

// plan marks what p removes and returns the bytes freed. It always
// removes unusable records and what neither a named image nor a live
// record references; then, by p, everything (all), what was last used
// before p.until, and the least recently used data until the build cache
// (see cache) is at most p.keep bytes: records (with the blobs only they
// reference), explain records, fetched sources, chains and cache mounts first, a named image's unpacked chains (which
// can be unpacked again) only after all of those.
func (inv *inventory) plan(p policy) int64 {
	var freed int64
	for _, r := range inv.records {
		if r.bad {
			freed += inv.remove(r)
		}
	}
	for _, m := range []map[string]*item{inv.blobs, inv.chains, inv.indexes} {
		for _, it := range m {
			if it.refs == 0 && !it.pinned {
				freed += inv.remove(it)
			}
		}
	}
	for _, it := range inv.stale {
		freed += inv.remove(it)
	}
	if p.all {
		for _, l := range [][]*item{inv.records, inv.mounts, inv.explains, inv.sources} {
			for _, it := range l {
				freed += inv.remove(it)
			}
		}
		for _, m := range []map[string]*item{inv.chains, inv.indexes} {
			for _, it := range m {
				freed += inv.remove(it)
			}
		}
	}
	if !p.until.IsZero() {
		for _, it := range inv.candidates() {
			if !it.pinned && it.used.Before(p.until) {
				freed += inv.remove(it)
			}
		}
	}
	if p.keep > 0 {
		total := inv.cache()
		for _, it := range inv.candidates() {
			if total <= p.keep {
				break
			}
			n := inv.remove(it)
			freed += n
			total -= n
		}
	}
	// A chain's lock file goes with the chain.
	for _, l := range inv.locks {
		if c := inv.chains[l.name]; c == nil || c.gone {
			freed += inv.remove(l)
		}
	}
	return freed
}

// candidates lists the records, cache mounts, explain records, fetched
// sources and chains
// still kept, least recently used first, named images' chains last.
func (inv *inventory) candidates() []*item {
	var out []*item
	for _, l := range [][]*item{inv.records, inv.mounts, inv.explains, inv.sources} {
		for _, it := range l {
			if !it.gone {
				out = append(out, it)
			}
		}
	}
	for _, it := range inv.chains {
		if !it.gone {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b *item) int {
		if a.pinned != b.pinned {
			if a.pinned {
				return 1
			}
			return -1
		}
		if c := a.used.Compare(b.used); c != 0 {
			return c
		}
		if c := cmp.Compare(a.kind, b.kind); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	return out
}

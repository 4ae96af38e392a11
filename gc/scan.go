package gc

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/longpath"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/snapshot"
)

// scan takes stock of the root: sizes (see sizes), then what stored
// images and cache records reference. exclusive says the caller holds
// gc.lock exclusively, so no RUN is writing to a cache mount.
func scan(ctx context.Context, root *root.Root, exclusive bool) (*inventory, error) {
	inv, err := sizes(root, exclusive)
	if err != nil {
		return nil, err
	}
	return inv, references(ctx, root, inv)
}

// references marks what stored images need and links every cache record
// to what it references.
func references(ctx context.Context, root *root.Root, inv *inventory) error {
	if err := pinImages(ctx, root, inv); err != nil {
		return err
	}
	return scanRecords(root, inv)
}

// sizes lists what the root holds, with sizes but without references:
// enough for its total, cheaply. Sizes are disk blocks, each inode
// counted once (hard links). Walking whole trees is what costs, so the
// memo in gc-sizes.json keeps the size of every unpacked chain (it never
// changes) and of every cache mount (measured again once a RUN has used
// it since); after a cached build, the check stats only blobs and files.
func sizes(root *root.Root, exclusive bool) (*inventory, error) {
	inv := newInventory()
	sz := &sizer{seen: map[[2]uint64]bool{}}
	if err := scanBlobs(root, inv, sz); err != nil {
		return nil, err
	}
	memo := loadSizeMemo(root)
	if err := scanSnapshots(root, inv, sz, memo); err != nil {
		return nil, err
	}
	if err := scanMounts(root, inv, sz, memo); err != nil {
		return nil, err
	}
	if err := scanExplains(root, inv, sz); err != nil {
		return nil, err
	}
	if err := scanSources(root, inv, sz); err != nil {
		return nil, err
	}
	files, err := root.Cache.Files()
	if err != nil {
		return nil, err
	}
	for _, fi := range files {
		inv.records = append(inv.records, &item{kind: kindRecord, name: fi.Name(), size: sz.file(fi), used: fi.ModTime()})
	}
	for _, d := range []string{"store", "statcache"} {
		inv.fixed += sz.tree(filepath.Join(root.Dir, d))
	}
	saveSizeMemo(root, inv, memo, exclusive)
	return inv, nil
}
func scanBlobs(root *root.Root, inv *inventory, sz *sizer) error {
	err := root.Content.WalkInfo(func(d v1.Hash, fi fs.FileInfo) error {
		p := root.Content.Path(d)
		inv.blobs[d.Hex] = &item{kind: kindBlob, name: d.Hex, path: p, size: sz.file(fi), used: fi.ModTime()}
		return nil
	})
	if err != nil {
		return err
	}
	// A lazy blob's remote record is a blob of size 0: kept while an image
	// needs it, removed (by Content.Remove) once none does.
	return root.Content.WalkRemote(func(d v1.Hash) error {
		if inv.blobs[d.Hex] != nil {
			return nil
		}
		p := root.Content.RemotePath(d)
		fi, err := os.Lstat(p)
		if err != nil {
			return nil // removed meanwhile
		}
		inv.blobs[d.Hex] = &item{kind: kindBlob, name: d.Hex, path: p, used: fi.ModTime()}
		return nil
	})
}

// pinImages marks what every stored image needs: its manifest, config
// and layer blobs, and the chains and indexes of its layers; for a
// multi-platform image, its index and each stored child's (a pulled one
// may lack some platforms, whose blobs were never here).
func pinImages(ctx context.Context, root *root.Root, inv *inventory) error {
	list, err := root.Images.List(ctx)
	if err != nil {
		return fmt.Errorf("list images to keep: %w", err)
	}
	for _, im := range list {
		pin(inv.blobs, im.Digest.Hex)
		if !im.Index {
			if err := pinImage(ctx, root, inv, im.Digest); err != nil {
				return err
			}
			continue
		}
		for _, c := range im.Children {
			if err := pinImage(ctx, root, inv, c.Digest); err != nil {
				return err
			}
		}
	}
	return nil
}

func pin(m map[string]*item, hex string) {
	if it := m[hex]; it != nil {
		it.pinned = true
	}
}

// pinImage pins the image manifest d and what it needs.
func pinImage(ctx context.Context, root *root.Root, inv *inventory, d v1.Hash) error {
	pin(inv.blobs, d.Hex)
	img, _, err := root.Images.Image(ctx, d.String())
	if err != nil {
		return fmt.Errorf("read image %s to keep its blobs: %w", d, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("read image %s to keep its blobs: %w", d, err)
	}
	pin(inv.blobs, m.Config.Digest.Hex)
	for _, l := range m.Layers {
		pin(inv.blobs, l.Digest.Hex)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("read image %s to keep its blobs: %w", d, err)
	}
	for i, c := range snapshot.ChainIDs(cf.RootFS.DiffIDs) {
		pin(inv.chains, c.Hex)
		pin(inv.indexes, cf.RootFS.DiffIDs[i].Hex)
	}
	return nil
}

func scanSnapshots(root *root.Root, inv *inventory, sz *sizer, memo *sizeMemo) error {
	dir := filepath.Join(root.Dir, "snapshots")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		name := e.Name()
		switch {
		case e.IsDir() && isDigestHex(name):
			fi, err := e.Info()
			if err != nil {
				continue
			}
			n, ok := memo.Chains[name]
			if !ok {
				n = sz.tree(p)
			}
			inv.chains[name] = &item{kind: kindChain, name: name, path: p, size: n, used: fi.ModTime()}
		case strings.HasSuffix(name, ".lock") && isDigestHex(strings.TrimSuffix(name, ".lock")):
			inv.locks = append(inv.locks, &item{kind: kindLock, name: strings.TrimSuffix(name, ".lock"), path: p, size: sz.tree(p)})
		case strings.HasPrefix(name, ".tmp-"):
			inv.stale = append(inv.stale, &item{kind: kindStale, name: name, path: p, size: sz.tree(p)})
		case name == "index" && e.IsDir():
			scanIndexes(p, inv, sz)
		default: // active snapshots of running builds, and anything unknown
			n := sz.tree(p)
			inv.fixed += n
			inv.fixedSnapshots += n
		}
	}
	return nil
}

func scanIndexes(dir string, inv *inventory, sz *sizer) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		hex, ok := strings.CutSuffix(e.Name(), ".idx")
		if !ok || !isDigestHex(hex) || !e.Type().IsRegular() {
			n := sz.tree(p)
			inv.fixed += n
			inv.fixedSnapshots += n
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		inv.indexes[hex] = &item{kind: kindIndex, name: hex, path: p, size: sz.file(fi), used: fi.ModTime()}
	}
}

func scanMounts(root *root.Root, inv *inventory, sz *sizer, memo *sizeMemo) error {
	dir := filepath.Join(root.Dir, "mounts")
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list cache mounts: %w", err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		fi, err := e.Info()
		if err != nil {
			continue
		}
		it := &item{kind: kindMount, name: e.Name(), path: p, used: fi.ModTime()}
		if strings.HasPrefix(e.Name(), ".") { // .new-*: an unfinished creation
			it.kind = kindStale
			it.size = sz.tree(p)
			inv.stale = append(inv.stale, it)
			continue
		}
		// A RUN touches its cache mount before it writes, so a size
		// measured after the last touch is still right.
		if m, ok := memo.Mounts[e.Name()]; ok && fi.ModTime().Before(m.At) {
			it.size = m.Size
		} else {
			it.size = sz.tree(p)
		}
		inv.mounts = append(inv.mounts, it)
	}
	return nil
}

// scanExplains lists --explain's records, explain/<target>/, each last
// used at its directory's mtime: a rewrite of record.json renames into
// it, and a build that keeps the record touches it (see explain.Explainer.Save).
func scanExplains(root *root.Root, inv *inventory, sz *sizer) error {
	dir := filepath.Join(root.Dir, "explain")
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list explain records: %w", err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if !e.IsDir() || !isDigestHex(e.Name()) {
			inv.fixed += sz.tree(p)
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		inv.explains = append(inv.explains, &item{kind: kindExplain, name: e.Name(), path: p, size: sz.tree(p), used: fi.ModTime()})
	}
	return nil
}

// scanSources lists the fetched sources: git/repos/<remote> (bare
// repositories), git/checkouts/<key> and contexts/<sha256> (extracted
// remote contexts), each last used at its directory's mtime (gitsource
// and the builder touch what they reuse). Lock files and the empty
// context stay.
func scanSources(root *root.Root, inv *inventory, sz *sizer) error {
	for _, d := range []string{"git/repos", "git/checkouts", "contexts"} {
		dir := filepath.Join(root.Dir, d)
		ents, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", d, err)
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			fi, err := e.Info()
			if err != nil {
				continue
			}
			if !e.IsDir() || (d == "contexts" && e.Name() == "empty") {
				inv.fixed += sz.file(fi)
				continue
			}
			inv.sources = append(inv.sources, &item{kind: kindSource, name: d + "/" + e.Name(), path: p, size: sz.tree(p), used: fi.ModTime()})
		}
	}
	return nil
}

// scanRecords reads every record and links it to what it references;
// a record that does not parse or names a missing blob is bad.
func scanRecords(root *root.Root, inv *inventory) error {
	recs, err := root.Cache.Records()
	if err != nil {
		return err
	}
	sizes := map[string]int64{}
	for _, r := range inv.records {
		sizes[r.name] = r.size
	}
	inv.records = inv.records[:0]
	for _, rec := range recs {
		name := filepath.Base(rec.Path)
		it := &item{kind: kindRecord, name: name, path: rec.Path, size: sizes[name], used: rec.Info.ModTime(), bad: !rec.OK}
		if rec.OK {
			diffIDs := make([]v1.Hash, len(rec.Value.Layers))
			seen := map[*item]bool{}
			add := func(d *item) {
				if d != nil && !seen[d] {
					seen[d] = true
					it.deps = append(it.deps, d)
				}
			}
			for i, l := range rec.Value.Layers {
				b := inv.blobs[l.Digest.Hex]
				if b == nil {
					it.bad = true // the record is a miss anyway (see root.Open's Valid)
				}
				add(b)
				add(inv.indexes[l.DiffID.Hex])
				diffIDs[i] = l.DiffID
			}
			for _, c := range snapshot.ChainIDs(diffIDs) {
				add(inv.chains[c.Hex])
			}
		}
		inv.records = append(inv.records, it)
		inv.link(it)
	}
	return nil
}

func isDigestHex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// sizer adds up disk blocks, counting each inode once.
type sizer struct {
	seen map[[2]uint64]bool
}

func (s *sizer) file(fi fs.FileInfo) int64 {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fi.Size()
	}
	id := [2]uint64{st.Dev, st.Ino}
	if s.seen[id] {
		return 0
	}
	s.seen[id] = true
	return st.Blocks * 512
}

// tree sizes everything under p, not crossing into other filesystems (a
// running build's overlay mount shows its lower layers again). Paths
// longer than PATH_MAX are walked too (a RUN can make them). A size is
// an estimate: entries that vanish while it walks (a build or prune
// removing them) or that cannot be read count as nothing.
func (s *sizer) tree(p string) int64 {
	fi, err := longpath.Lstat(p)
	if err != nil {
		return 0
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	return s.walk(p, fi, st.Dev)
}

func (s *sizer) walk(p string, fi fs.FileInfo, dev uint64) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Dev != dev {
		return 0
	}
	n := s.file(fi)
	if !fi.IsDir() {
		return n
	}
	ents, err := longpath.ReadDir(p)
	if err != nil {
		return n
	}
	for _, e := range ents {
		q := filepath.Join(p, e.Name())
		cfi, err := e.Info()
		if err != nil {
			continue
		}
		n += s.walk(q, cfi, dev)
	}
	return n
}

// sizeMemo is gc-sizes.json: the sizes of trees GC would otherwise walk.
type sizeMemo struct {
	Chains map[string]int64        `json:"chains"` // chain ID hex → bytes
	Mounts map[string]mountMeasure `json:"mounts"` // directory name → size
	at     time.Time               // when this scan started
}

type mountMeasure struct {
	Size int64     `json:"size"`
	At   time.Time `json:"at"` // when it was measured
}

func sizeMemoPath(root *root.Root) string { return filepath.Join(root.Dir, "gc-sizes.json") }

func loadSizeMemo(root *root.Root) *sizeMemo {
	var m sizeMemo
	if b, err := os.ReadFile(sizeMemoPath(root)); err == nil {
		_ = json.Unmarshal(b, &m) // a bad memo only makes the scan slower
	}
	m.at = time.Now()
	return &m
}

// saveSizeMemo rewrites the memo when a size changed. Mount sizes are
// kept only from a scan under the exclusive lock: a RUN running beside
// du could write to a mount after it was measured. It is best effort:
// losing the memo costs one walk of each tree.
func saveSizeMemo(root *root.Root, inv *inventory, old *sizeMemo, exclusive bool) {
	m := sizeMemo{Chains: map[string]int64{}, Mounts: map[string]mountMeasure{}}
	changed := len(inv.chains) != len(old.Chains)
	for hex, c := range inv.chains {
		m.Chains[hex] = c.size
		if v, ok := old.Chains[hex]; !ok || v != c.size {
			changed = true
		}
	}
	for _, it := range inv.mounts {
		prev, ok := old.Mounts[it.name]
		switch {
		case ok && prev.Size == it.size && it.used.Before(prev.At):
			m.Mounts[it.name] = prev
		case exclusive:
			m.Mounts[it.name] = mountMeasure{Size: it.size, At: old.at}
			changed = true
		default:
			changed = changed || ok
		}
	}
	if !changed && len(m.Mounts) == len(old.Mounts) {
		return
	}
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	f, err := os.CreateTemp(root.Tmp, "gc-sizes-")
	if err != nil {
		return
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil && cerr == nil {
		err = os.Rename(f.Name(), sizeMemoPath(root))
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

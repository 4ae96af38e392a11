package remotecache

import (
	"maps"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/ops"
)

// merge appends recs to the existing records (new ones win), so builds of
// different branches can share one cache.
func merge(old *cacheConfig, recs map[string]*ops.State) map[string]*ops.State {
	out := map[string]*ops.State{}
	if old != nil {
		maps.Copy(out, old.Records)
	}
	maps.Copy(out, recs)
	return out
}

// own is what one export adds to a shared cache: the keys of the records
// and the ids of the cache mounts it can export, and the blobs they name.
// Other exports to the same ref or directory may replace the cache at any
// time; the export is complete once a cache there holds all of own.
type own struct {
	records map[string]bool
	mounts  map[string]bool
	layers  []v1.Descriptor // sorted by digest
	blobs   map[v1.Hash]bool
}

// ownPart picks the records and mounts cacheManifest would keep of recs
// and mounts alone.
func ownPart(recs map[string]*ops.State, mounts map[string]ops.Layer, has func(v1.Hash) bool) own {
	o := own{records: map[string]bool{}, mounts: map[string]bool{}, blobs: map[v1.Hash]bool{}}
	add := func(l ops.Layer) {
		if !o.blobs[l.Digest] {
			o.blobs[l.Digest] = true
			o.layers = append(o.layers, v1.Descriptor{MediaType: l.MediaType, Size: l.Size, Digest: l.Digest})
		}
	}
	for k, s := range recs {
		if exportable(s, has) {
			o.records[k] = true
			for _, l := range s.Layers {
				add(l)
			}
		}
	}
	for id, l := range mounts {
		if has(l.Digest) {
			o.mounts[id] = true
			add(l)
		}
	}
	slices.SortFunc(o.layers, func(a, b v1.Descriptor) int { return compareHex(a.Digest.Hex, b.Digest.Hex) })
	return o
}

// with extends has by own's blobs: they were written to the destination
// first, so a merge may name them even when the cache it read (a
// concurrent export's) does not carry them.
func (o own) with(has func(v1.Hash) bool) func(v1.Hash) bool {
	return func(d v1.Hash) bool { return o.blobs[d] || has(d) }
}

// missingFrom counts own's records and mounts that cfg (nil when there is
// no cache) lacks. A key is identity: another export's record under one
// of own's keys is a result of the same step and counts as present, so
// two exports that built one step differently do not replace each other
// forever. A record whose blobs the manifest (layers) does not carry
// would be skipped at import, so it counts as missing.
func (o own) missingFrom(cfg *cacheConfig, layers map[v1.Hash]v1.Descriptor) int {
	n := 0
	for k := range o.records {
		if cfg == nil || !recordUsable(cfg.Records[k], layers) {
			n++
		}
	}
	for id := range o.mounts {
		l, ok := ops.Layer{}, false
		if cfg != nil {
			l, ok = cfg.Mounts[id]
		}
		if _, carried := layers[l.Digest]; !ok || !carried {
			n++
		}
	}
	return n
}

// total is how many records and mounts own has.
func (o own) total() int { return len(o.records) + len(o.mounts) }

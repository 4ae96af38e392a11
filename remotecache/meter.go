package remotecache

import (
	"fmt"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/progress"
)

// cacheMeter shows the blobs one cache export writes or one build fetches
// from a --cache-from, one transfer each ("exporting cache sha256:abcd…
// 12 MB / 40 MB"), and counts them for the export's summary line. A blob
// the destination already has is never read, so it is never shown: the
// summary counts it as already there. A nil Printer shows nothing but
// still counts.
type cacheMeter struct {
	p                 *progress.Printer
	running, finished string // label prefixes, e.g. "exporting cache", "exported cache"

	mu    sync.Mutex
	blobs int   // blobs the export names (set by expect)
	moved int   // blobs read to their end
	bytes int64 // their sizes
	// rounds is how many times a registry export put a merge before the
	// ref held its records (more than 1 when concurrent exports
	// replaced it).
	rounds int
}

// expect records that the export names blobs blobs and returns m (nil
// when there is no meter).
func (m *cacheMeter) expect(blobs int) *cacheMeter {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs = blobs
	return m
}

// setRounds records that a registry export is in its nth round.
func (m *cacheMeter) setRounds(n int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rounds = n
}

func newExportMeter(p *progress.Printer) *cacheMeter {
	return &cacheMeter{p: p, running: "exporting cache", finished: "exported cache"}
}

func newFetchMeter(p *progress.Printer) *cacheMeter {
	return &cacheMeter{p: p, running: "fetching cache blob", finished: "fetched cache blob"}
}

// reader meters rc, the blob d of size bytes (0 = unknown).
func (m *cacheMeter) reader(rc io.ReadCloser, d v1.Hash, size int64) io.ReadCloser {
	if m == nil {
		return rc
	}
	name := progress.ShortDigest(d.String())
	return &progress.MeteredReader{
		ReadCloser: rc, Transfer: m.p.Transfer, ID: m.running + " " + d.String(),
		Running: m.running + " " + name, Finished: m.finished + " " + name,
		Total: size, OnEnd: m.count,
	}
}

func (m *cacheMeter) count(size int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.moved++
	m.bytes += size
}

// layer wraps l so that reading its compressed bytes (an upload) is
// metered; a nil meter returns l.
func (m *cacheMeter) layer(l v1.Layer) v1.Layer {
	if m == nil {
		return l
	}
	return meteredLayer{Layer: l, m: m}
}

type meteredLayer struct {
	v1.Layer
	m *cacheMeter
}

func (l meteredLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	d, err := l.Digest()
	if err != nil {
		rc.Close()
		return nil, err
	}
	size, err := l.Size()
	if err != nil {
		size = 0
	}
	return l.m.reader(rc, d, size), nil
}

// summary says what the export moved: "3 blobs uploaded (41.0 MB), 12
// already there" (verb "uploaded" or "written").
func (m *cacheMeter) summary(verb string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := plural(m.moved, "blob") + " " + verb
	if m.moved > 0 {
		s += " (" + progress.FormatSize(m.bytes) + ")"
	}
	if there := m.blobs - m.moved; there > 0 {
		s += fmt.Sprintf(", %d already there", there)
	}
	if m.rounds > 1 {
		s += fmt.Sprintf("; merged with concurrent exports in %d rounds", m.rounds)
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

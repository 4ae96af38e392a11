package remotecache

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/solver"
)

// lockedBuffer is written by the printer from upload goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type transferRecord struct {
	Transfer, Label, Status string
	Bytes                   int64
}

// finishedTransfers returns the json "done" records by transfer id, and
// fails on a transfer that started but never finished.
func finishedTransfers(t *testing.T, out string) map[string]transferRecord {
	t.Helper()
	done := map[string]transferRecord{}
	started := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue // nothing printed yet
		}
		var r transferRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("decode %q: %v", line, err)
		}
		if r.Transfer == "" {
			continue
		}
		started[r.Transfer] = true
		if r.Status == "done" {
			done[r.Transfer] = r
		}
	}
	for id := range started {
		if _, ok := done[id]; !ok {
			t.Errorf("transfer %s never finished:\n%s", id, out)
		}
	}
	return done
}

func jsonPrinter(t *testing.T) (*progress.Printer, *lockedBuffer) {
	var buf lockedBuffer
	p, err := progress.New(&buf, "json")
	if err != nil {
		t.Fatal(err)
	}
	return p, &buf
}

// wantBlobs checks that exactly the layers ls were shown as finished
// transfers, with their sizes and "exported cache sha256:…" labels.
func wantBlobs(t *testing.T, out, prefix string, ls ...ops.Layer) {
	t.Helper()
	done := finishedTransfers(t, out)
	if len(done) != len(ls) {
		t.Errorf("finished transfers %v, want %d", done, len(ls))
	}
	for _, l := range ls {
		r, ok := done[prefix+" "+l.Digest.String()]
		if !ok {
			t.Errorf("no transfer for %s in\n%s", l.Digest, out)
			continue
		}
		if r.Bytes != l.Size || r.Label != "exported cache "+progress.ShortDigest(l.Digest.String()) {
			t.Errorf("transfer %+v, want %d bytes labelled exported cache %s", r, l.Size, progress.ShortDigest(l.Digest.String()))
		}
	}
}

func TestRegistryCacheExportProgress(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	root := newTestRoot(t)
	a, b := testutil.PutLayer(t, root.Content, "layer a"), testutil.PutLayer(t, root.Content, "layer bb")
	spec := Spec{Type: "registry", Ref: reg.Host + "/cache/progress:1"}

	p, buf := jsonPrinter(t)
	m := newExportMeter(p)
	if err := exportRegistry(t.Context(), root.Content, nil, spec, reg.Options, map[string]*ops.State{"k1": testutil.Record(a, b)}, nil, t.Logf, m); err != nil {
		t.Fatal(err)
	}
	wantBlobs(t, buf.String(), "exporting cache", a, b)
	if got, want := m.summary("uploaded"), "2 blobs uploaded (15 B)"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}

	// Again with one new blob: only it is uploaded and shown.
	c := testutil.PutLayer(t, root.Content, "layer c")
	p, buf = jsonPrinter(t)
	m = newExportMeter(p)
	if err := exportRegistry(t.Context(), root.Content, nil, spec, reg.Options, map[string]*ops.State{"k2": testutil.Record(a, c)}, nil, t.Logf, m); err != nil {
		t.Fatal(err)
	}
	wantBlobs(t, buf.String(), "exporting cache", c)
	if got, want := m.summary("uploaded"), "1 blob uploaded (7 B), 2 already there"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

func TestLocalCacheExportProgress(t *testing.T) {
	root := newTestRoot(t)
	a, b := testutil.PutLayer(t, root.Content, "layer a"), testutil.PutLayer(t, root.Content, "layer bb")
	dir := filepath.Join(t.TempDir(), "cache")

	p, buf := jsonPrinter(t)
	m := newExportMeter(p)
	if err := exportLocal(root.Content, nil, dir, map[string]*ops.State{"k1": testutil.Record(a)}, nil, t.Logf, m); err != nil {
		t.Fatal(err)
	}
	wantBlobs(t, buf.String(), "exporting cache", a)
	if got, want := m.summary("written"), "1 blob written (7 B)"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}

	p, buf = jsonPrinter(t)
	m = newExportMeter(p)
	if err := exportLocal(root.Content, nil, dir, map[string]*ops.State{"k2": testutil.Record(a, b)}, nil, t.Logf, m); err != nil {
		t.Fatal(err)
	}
	wantBlobs(t, buf.String(), "exporting cache", b)
	if got, want := m.summary("written"), "1 blob written (8 B), 1 already there"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

// TestCacheFetchProgress: a --cache-from blob fetched lazily during the
// build shows as one finished "fetched cache blob" transfer.
func TestCacheFetchProgress(t *testing.T) {
	reg := testutil.NewMemRegistry(t)
	src := newTestRoot(t)
	top := testutil.PutLayer(t, src.Content, "top layer")
	ref := reg.Host + "/cache/fetch:1"
	k := solver.Key{7}
	if err := exportRegistry(t.Context(), src.Content, nil, Spec{Type: "registry", Ref: ref}, reg.Options,
		map[string]*ops.State{keyHex(k): testutil.Record(top)}, nil, t.Logf, nil); err != nil {
		t.Fatal(err)
	}
	root := newTestRoot(t)
	p, buf := jsonPrinter(t)
	imported := Import(t.Context(), []Spec{{Type: "registry", Ref: ref}}, reg.Options, t.Logf)
	root.Content.SetFetcher(imported.Fetcher(t.Context(), p))
	defer root.Content.SetFetcher(nil)
	if finished := finishedTransfers(t, buf.String()); len(finished) != 0 {
		t.Errorf("import fetched blobs before any was needed: %v", finished)
	}
	rc, err := root.Content.Layer(top.Digest, top.DiffID, top.Size, top.MediaType).Compressed()
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	finished := finishedTransfers(t, buf.String())
	r, ok := finished["fetching cache blob "+top.Digest.String()]
	if len(finished) != 1 || !ok || r.Bytes != top.Size || r.Label != "fetched cache blob "+progress.ShortDigest(top.Digest.String()) {
		t.Errorf("transfers %+v, want one finished fetch of %s (%d bytes)", finished, top.Digest, top.Size)
	}
}

func TestCacheMeterSummary(t *testing.T) {
	m := newExportMeter(nil)
	m.expect(3)
	if got, want := m.summary("uploaded"), "0 blobs uploaded, 3 already there"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

package remotecache

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
)

type transferLine struct {
	Transfer, Label, Status string
	Bytes, Total            int64
}

func transferLines(t *testing.T, out string) []transferLine {
	t.Helper()
	var ls []transferLine
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l transferLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("decode %q: %v", line, err)
		}
		if l.Transfer != "" {
			ls = append(ls, l)
		}
	}
	return ls
}

// TestCacheMountTransfersShown: packing a cache mount for --cache-to and
// restoring it from a --cache-from each show as one transfer, finished
// at the bytes moved (the uncompressed tar when packing, the blob when
// fetching), so a large mount does not look like a hang; a packing that
// fails is dropped, not shown as finished.
func TestCacheMountTransfersShown(t *testing.T) {
	src := newTestRoot(t)
	dir := filepath.Join(t.TempDir(), "pkgs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("wheel "), 300_000) // 1.8 MB, past the 1 MB buffer
	if err := os.WriteFile(filepath.Join(dir, "pkg.whl"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p, err := progress.New(&out, "json")
	if err != nil {
		t.Fatal(err)
	}
	l, ok, err := packMount(t.Context(), src.Content, dir, 1, mountMeter{p, "/root/.cache/pip"})
	if err != nil || !ok {
		t.Fatalf("packMount = %v, %v", ok, err)
	}
	ls := transferLines(t, out.String())
	last := ls[len(ls)-1]
	if last.Status != "done" || last.Label != `packed cache mount "/root/.cache/pip"` || last.Bytes < int64(len(data)) || last.Bytes != last.Total {
		t.Errorf("last packing event %+v, want done, labelled, at least %d bytes", last, len(data))
	}
	if ls[0].Status != "running" || ls[0].Label != `packing cache mount "/root/.cache/pip"` {
		t.Errorf("first packing event %+v, want running", ls[0])
	}

	// Restore from a local cache: one fetch transfer of the blob's size.
	cdir := filepath.Join(t.TempDir(), "cache")
	var warns []string
	if err := exportLocal(src.Content, nil, cdir, nil, map[string]ops.Layer{"/root/.cache/pip": l}, testutil.CollectWarnings(&warns), nil); err != nil {
		t.Fatal(err)
	}
	rc := Import(t.Context(), []Spec{{Type: "local", Dir: cdir}}, registry.Options{}, testutil.CollectWarnings(&warns))
	out.Reset()
	var logs []string
	mdir := filepath.Join(newTestRoot(t).Dir, "m")
	if err := rc.seed(t.Context(), "/root/.cache/pip", mdir, mountMeter{p, "/root/.cache/pip"}, testutil.CollectWarnings(&logs), testutil.CollectWarnings(&warns)); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(mdir, "pkg.whl")); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("restored pkg.whl: %d bytes, %v", len(b), err)
	}
	ls = transferLines(t, out.String())
	last = ls[len(ls)-1]
	if last.Status != "done" || last.Label != `fetched cache mount "/root/.cache/pip"` || last.Bytes != l.Size {
		t.Errorf("last fetch event %+v, want done at %d bytes", last, l.Size)
	}
	want := `restored cache mount "/root/.cache/pip" from ` + cdir + " (" + progress.FormatSize(l.Size) + ")"
	if len(logs) != 1 || logs[0] != want {
		t.Errorf("logs %q, want %q", logs, want)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}

	// A packing that fails half-way (here Ctrl-C as the first bytes are
	// shown) is dropped, not shown as finished.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var cout bytes.Buffer
	cp, err := progress.New(cancelWriter{&cout, cancel}, "json")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := packMount(ctx, src.Content, dir, 1, mountMeter{cp, "pip"}); err == nil {
		t.Fatal("packing went on after its context was cancelled")
	}
	if !strings.Contains(cout.String(), `packing cache mount \"pip\"`) || strings.Contains(cout.String(), `"done"`) {
		t.Errorf("an interrupted packing: want a running event and no finished one:\n%s", cout.String())
	}
}

// cancelWriter cancels a context at the first progress line it gets.
type cancelWriter struct {
	w      *bytes.Buffer
	cancel func()
}

func (c cancelWriter) Write(b []byte) (int, error) {
	c.cancel()
	return c.w.Write(b)
}

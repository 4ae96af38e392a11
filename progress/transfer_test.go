package progress

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestJSONTransferEvents(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	p := newPrinter(&buf, "json", nil, c.now)
	defer p.Close()
	id, label := "push docker.io/x/app", "pushing docker.io/x/app"
	p.Transfer(id, label, 0, 3000)    // first update: reported
	c.add(400 * time.Millisecond)     //
	p.Transfer(id, label, 1000, 3000) // within a second: not reported
	c.add(700 * time.Millisecond)     //
	p.Transfer(id, label, 2000, 3000) // a second later: reported
	c.add(100 * time.Millisecond)     //
	p.Transfer(id, label, 3000, 3000) // final: always reported

	type rec struct {
		Time     time.Time
		Transfer string
		Label    string
		Bytes    int64
		Total    int64
		Status   string
		Seconds  float64
	}
	var got []rec
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var r rec
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode %q: %v", buf.String(), err)
		}
		got = append(got, r)
	}
	if len(got) != 3 {
		t.Fatalf("got %d events, want 3: %+v", len(got), got)
	}
	for i, want := range []struct {
		bytes  int64
		status string
	}{{0, "running"}, {2000, "running"}, {3000, "done"}} {
		r := got[i]
		if r.Transfer != id || r.Label != label || r.Total != 3000 || r.Bytes != want.bytes || r.Status != want.status {
			t.Errorf("event %d = %+v, want bytes %d status %s", i, r, want.bytes, want.status)
		}
	}
	if s := got[2].Seconds; s < 1.19 || s > 1.21 {
		t.Errorf("final event seconds = %v, want 1.2", s)
	}
}

func TestPlainTransferOneLine(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	p := newPrinter(&buf, "plain", nil, c.now)
	label := "pushing layer sha256:abcd1234abcd"
	p.Transfer("a", label, 0, 120e6)
	c.add(3 * time.Second)
	p.Transfer("a", label, 60e6, 120e6)
	c.add(100 * time.Millisecond)
	p.Transfer("a", label, 120e6, 120e6)
	p.Transfer("b", "writing layer", 5e6, 0)
	p.Transfer("b", "writing layer", -1, 0)
	p.Transfer("c", "wrote layer sha256:ffff", 40e6, 40e6)
	want := "pushing layer sha256:abcd1234abcd 120 MB 3.1s 39 MB/s\nwrote layer sha256:ffff 40 MB 0.0s\n"
	if buf.String() != want {
		t.Errorf("plain transfer lines:\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestQuietAndNilIgnoreTransfers(t *testing.T) {
	var buf bytes.Buffer
	p, err := New(&buf, "quiet")
	if err != nil {
		t.Fatal(err)
	}
	p.Transfer("a", "pulling", 10, 10)
	var nilP *Printer
	nilP.Transfer("a", "pulling", 10, 10)
	if err := nilP.Close(); err != nil {
		t.Error(err)
	}
	if buf.Len() != 0 {
		t.Errorf("quiet mode printed %q", buf.String())
	}
}

func TestBytesText(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1500: "1.5 kB", 120e6: "120 MB", 3.1e9: "3.1 GB"} {
		if got := bytesText(n); got != want {
			t.Errorf("bytesText(%d) = %q, want %q", n, got, want)
		}
	}
	if !strings.HasSuffix(bytesText(5e15), "PB") {
		t.Errorf("bytesText(5e15) = %q", bytesText(5e15))
	}
}

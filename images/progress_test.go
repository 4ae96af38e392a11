package images

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/exporter"
	"github.com/gorae/gorae/progress"
)

func TestPullProgressReportsEachLayer(t *testing.T) {
	img, err := random.Image(3000, 2)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	p, err := progress.New(&buf, "json")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := pullProgress(img, p).Layers()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, l := range ls {
		d, _ := l.Digest()
		size, _ := l.Size()
		want["pull "+d.String()] = size
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	done := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r struct {
			Transfer, Label, Status string
			Bytes                   int64
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("decode %q: %v", line, err)
		}
		if r.Status == "done" {
			if !strings.HasPrefix(r.Label, "pulled layer sha256:") {
				t.Errorf("final label %q", r.Label)
			}
			done[r.Transfer] = r.Bytes
		}
	}
	if len(done) != len(want) {
		t.Fatalf("finished transfers %v, want %v", done, want)
	}
	for id, size := range want {
		if done[id] != size {
			t.Errorf("%s finished at %d bytes, want %d", id, done[id], size)
		}
	}
}

func TestPullProgressDropsAbandonedBlob(t *testing.T) {
	l, err := random.Layer(5000, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	p, _ := progress.New(&buf, "plain")
	rc, err := progressLayer{Layer: l, p: p}.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if buf.Len() != 0 {
		t.Errorf("an abandoned download printed %q", buf.String())
	}
}

func TestPushProgressLines(t *testing.T) {
	var buf bytes.Buffer
	p, _ := progress.New(&buf, "plain")
	f := pushProgress(p)
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	f(exporter.PushEvent{Name: "r/app:1", Digest: d, Size: 2000, Done: 500, Status: "pushing"})
	f(exporter.PushEvent{Name: "r/app:1", Digest: d, Size: 2000, Done: 2000, Status: "pushing"})
	f(exporter.PushEvent{Name: "r/app:1", Digest: d, Size: 2000, Done: 2000, Status: "pushed"})
	f(exporter.PushEvent{Name: "r/app:2", Digest: d, Status: "tagged"})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "pushed r/app:1 2.0 kB ") || lines[1] != "pushed r/app:2 (the registry had every blob)" {
		t.Errorf("push lines:\n%s", buf.String())
	}
	if pushProgress(nil) != nil {
		t.Error("pushProgress(nil) should leave the exporter without a callback")
	}
}

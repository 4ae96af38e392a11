package imagediff

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type file struct {
	name, body string
	mode       int64
	mtime      int64
}

func layer(t *testing.T, files ...file) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(f.mtime, 0)}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, f.body)
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func image(t *testing.T, env []string, steps []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := empty.Image
	for i, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: steps[i] + " # buildkit"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Env = env
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestCompare(t *testing.T) {
	ctx := t.Context()
	steps := []string{"COPY app /app", "RUN /bin/sh -c date > /f"}
	base := layer(t, file{name: "app", body: "x"})
	a := image(t, []string{"A=1", "PATH=/bin"}, steps, base, layer(t, file{name: "f", body: "Mon"}, file{name: "g", body: "same"}))
	b := image(t, []string{"A=2", "PATH=/bin"}, steps, base, layer(t, file{name: "f", body: "Tue"}, file{name: "g", body: "same"}))

	r, err := Compare(ctx, a, a)
	if err != nil || !r.Same() || r.String() != "" {
		t.Fatalf("an image against itself: %+v, %v", r, err)
	}
	r, err = Compare(ctx, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Config == nil || r.Config.Path != ".config.Env[0]" || r.Config.A != `"A=1"` || r.Config.B != `"A=2"` {
		t.Errorf("config = %+v", r.Config)
	}
	if r.Layer == nil || r.Layer.Index != 2 || r.Layer.Step != "RUN /bin/sh -c date > /f" || r.Layer.Compressed {
		t.Errorf("layer = %+v", r.Layer)
	}
	if r.File == nil || r.File.Path != "/f" || r.File.Field != "content" {
		t.Errorf("file = %+v", r.File)
	}
	out := r.String()
	for _, want := range []string{
		`config .config.Env[0]: "A=1" != "A=2"`,
		"layer 2 (RUN /bin/sh -c date > /f): sha256:",
		"file /f: content sha256:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	// A file's other fields, in order: mode before mtime.
	c := image(t, []string{"A=1", "PATH=/bin"}, steps, base, layer(t, file{name: "f", body: "Mon", mode: 0o755, mtime: 5}, file{name: "g", body: "same"}))
	r, err = Compare(ctx, a, c)
	if err != nil || r.Config != nil || r.File == nil || r.File.Field != "mode" || r.File.A != "0644" || r.File.B != "0755" {
		t.Errorf("mode: %+v %+v, %v", r.Config, r.File, err)
	}
	d := image(t, []string{"A=1", "PATH=/bin"}, steps, base, layer(t, file{name: "f", body: "Mon", mtime: 5}, file{name: "g", body: "same"}))
	if r, err = Compare(ctx, a, d); err != nil || r.File == nil || r.File.Field != "mtime" {
		t.Errorf("mtime: %+v, %v", r.File, err)
	}
	// A file only one image has; a layer only one has.
	e := image(t, []string{"A=1", "PATH=/bin"}, steps, base, layer(t, file{name: "f", body: "Mon"}, file{name: "g", body: "same"}, file{name: "h"}))
	if r, err = Compare(ctx, a, e); err != nil || r.File == nil || r.File.Path != "/h" || !strings.Contains(r.String(), "file /h: only in the second image") {
		t.Errorf("presence: %s, %v", r, err)
	}
	f := image(t, []string{"A=1", "PATH=/bin"}, steps[:1], base)
	if r, err = Compare(ctx, a, f); err != nil || r.Layer == nil || r.Layer.Index != 2 || r.Layer.B != "" || !strings.Contains(r.String(), "!= (absent)") {
		t.Errorf("missing layer: %s, %v", r, err)
	}
}

func TestConfigDiffPaths(t *testing.T) {
	for _, tc := range []struct{ a, b, path string }{
		{`{"created":"1"}`, `{"created":"2"}`, ".created"},
		{`{"config":{"Labels":{"a":"1"}}}`, `{"config":{"Labels":{"a":"1","b":"2"}}}`, ".config.Labels.b"},
		{`{"history":[{"created_by":"x"}]}`, `{"history":[{"created_by":"x"},{"created_by":"y"}]}`, ".history[1]"},
		{`{"rootfs":{"diff_ids":["a"]}}`, `{"rootfs":{"diff_ids":["b"]}}`, ""},
	} {
		p, _, _, err := configDiff([]byte(tc.a), []byte(tc.b))
		if err != nil || p != tc.path {
			t.Errorf("configDiff(%s, %s) = %q, %v; want %q", tc.a, tc.b, p, err, tc.path)
		}
	}
}

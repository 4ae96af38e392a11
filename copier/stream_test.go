package copier

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/graph"
)

// layerOf returns the layer write makes of op with a new job.
func layerOf(t *testing.T, op graph.Copy, o Options, write func(*job, *archive.Writer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := archive.NewWriter(&buf, archive.WriterOptions{Epoch: &epoch})
	j, err := newJob(op, o)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	if err := write(j, w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

// planned writes op's layer through the plan (every entry held, then
// sorted), the path stream must match byte for byte.
func planned(t *testing.T, op graph.Copy, srcs []Source, o Options) []byte {
	t.Helper()
	return layerOf(t, op, o, func(j *job, w *archive.Writer) error {
		if err := j.plan(context.Background(), srcs); err != nil {
			return err
		}
		return j.write(context.Background(), w)
	})
}

// streamed writes op's layer through the path stream, which must take it.
func streamed(t *testing.T, op graph.Copy, srcs []Source, o Options) []byte {
	t.Helper()
	return layerOf(t, op, o, func(j *job, w *archive.Writer) error {
		ok, err := j.stream(context.Background(), w, srcs)
		if err == nil && !ok {
			err = errors.New("stream left the copy to the plan; want it to write the copy")
		}
		return err
	})
}

func TestStreamedCopyIsThePlannedOne(t *testing.T) {
	// Names that sort differently with and without "/" as the lowest
	// byte, hard links across directories, links, empty directories.
	tree := newMemFS().
		file("a/b", "B", 0o644).file("a-", "dash", 0o600).file("a.b", "dot", 0o644).
		file("a/c/d", "D", 0o755).dir("a/e", 0o700).file("a0", "zero", 0o644).
		symlink("a/l", "../a.b").file("z/y", "Y", 0o644).hardlink("z/x", "a/b").
		hardlink("a/c/h", "a/b").file("sp ace/f", "", 0o644)
	stage := newMemFS().dir("srv", 0o750).chown("srv", 5, 6).symlink("app", "srv")
	for _, tc := range []struct {
		name string
		op   graph.Copy
		o    Options
	}{
		{"into new dir", copyOp("/o/", "."), Options{}},
		{"subdir", copyOp("/o", "a"), Options{}},
		{"to root", copyOp("/", "."), Options{}},
		{"through a symlink of the stage", copyOp("/app/x/", "."), Options{Dest: stage}},
		{"chown chmod", func() graph.Copy {
			op := copyOp("/o/", ".")
			op.Chown, op.Chmod = "7:8", "u+x"
			return op
		}(), Options{}},
		{"exclude", func() graph.Copy {
			op := copyOp("/o/", ".")
			op.Excludes = []string{"a/c", "*.b"}
			return op
		}(), Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := planned(t, tc.op, ctxSrc(tree), tc.o)
			if got := streamed(t, tc.op, ctxSrc(tree), tc.o); !bytes.Equal(got, want) {
				t.Errorf("streamed layer differs from the planned one:\n got %q\nwant %q", layerNames(t, got), layerNames(t, want))
			}
		})
	}
}

func TestStreamOnlyWhatItCanMatch(t *testing.T) {
	tree := newMemFS().file("a/b", "B", 0o644).file("c", "C", 0o644)
	exceptions := copyOp("/o/", ".")
	exceptions.Excludes = []string{"a", "!a/b"}
	parents := copyOp("/o/", "a")
	parents.Parents = true
	for name, op := range map[string]graph.Copy{
		"file":       copyOp("/o/", "c"),
		"two":        copyOp("/o/", "a", "c"),
		"wildcard":   copyOp("/o/", "*"),
		"exceptions": exceptions,
		"parents":    parents,
		"missing":    copyOp("/o/", "nothing"),
	} {
		j, err := newJob(op, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		ok, err := j.stream(context.Background(), archive.NewWriter(&buf, archive.WriterOptions{}), ctxSrc(tree))
		if ok || err != nil || buf.Len() > 0 {
			t.Errorf("%s: stream = %v, %v, wrote %d bytes; want it to leave the copy to the plan", name, ok, err, buf.Len())
		}
	}
}

// layerNames lists a layer's entries, hard and symbolic links with
// their targets.
func layerNames(t *testing.T, layer []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		s := h.Name
		if h.Linkname != "" {
			s += " -> " + h.Linkname
		}
		out = append(out, s)
	}
}

func TestComparePaths(t *testing.T) {
	want := []string{"", "a", "a/b", "a/b/c", "a/c", "a!", "a-", "a.b", "a0", "ab", "b"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, comparePaths)
	if !slices.Equal(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
}

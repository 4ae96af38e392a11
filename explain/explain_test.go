package explain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/solver"
)

func TestStepID(t *testing.T) {
	for name, want := range map[string][2]string{
		"[builder 3/12] RUN make":       {"builder 3", "RUN make"},
		"[ 3/12] COPY . /app":           {"3", "COPY . /app"},
		"[2/5] RUN echo":                {"2", "RUN echo"},
		"[internal] load build context": {"[internal] load build context", "load build context"},
		"FROM busybox":                  {"FROM busybox", "FROM busybox"},
	} {
		id, text := stepID(name)
		if id != want[0] || text != want[1] {
			t.Errorf("stepID(%q) = %q, %q; want %q, %q", name, id, text, want[0], want[1])
		}
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func runStep(id, text, own string, env ...string) *explainStep {
	return &explainStep{ID: id, Text: text, Kind: "run", Own: own, Key: own + "k",
		Fields: ops.Fields(graph.Run{Args: []string{"/bin/sh", "-c", strings.TrimPrefix(text, "RUN ")}, Env: env})}
}

func TestDiffStepComponents(t *testing.T) {
	// A build arg used by a RUN: the name shows the expanded value, the
	// command does not, so only the env entry is named.
	old := runStep("2", "RUN echo 1", "a", "V=1")
	old.Fields = ops.Fields(graph.Run{Args: []string{"/bin/sh", "-c", "echo $V"}, Env: []string{"V=1"}})
	cur := runStep("2", "RUN echo 2", "b")
	cur.Fields = ops.Fields(graph.Run{Args: []string{"/bin/sh", "-c", "echo $V"}, Env: []string{"V=2"}})
	if got, want := diffStep(old, cur, nil, nil), []string{`changed: build arg/env V: "1" → "2"`}; !slices.Equal(got, want) {
		t.Errorf("arg change: %q, want %q", got, want)
	}
	// An edited command: the instruction text, nothing else.
	old, cur = runStep("5", "RUN y", "a"), runStep("5", "RUN x", "b")
	if got, want := diffStep(old, cur, nil, nil), []string{"changed: instruction text `RUN x` (was `RUN y`)"}; !slices.Equal(got, want) {
		t.Errorf("text change: %q, want %q", got, want)
	}
	// Same own key, an input changed.
	old, cur = runStep("4", "RUN make", "a"), runStep("4", "RUN make", "a")
	old.Inputs = []explainInput{{ID: "3", Key: "k1"}}
	cur.Inputs = []explainInput{{ID: "3", Key: "k2"}}
	if got, want := diffStep(old, cur, nil, nil), []string{"changed: input (step 3 changed)"}; !slices.Equal(got, want) {
		t.Errorf("input change: %q, want %q", got, want)
	}
	// A new env entry and a removed one.
	old, cur = runStep("4", "RUN make", "a", "A=1"), runStep("4", "RUN make", "b", "B=2")
	want := []string{`changed: build arg/env B: (unset) → "2"`, `changed: build arg/env A: "1" → (unset)`}
	if got := diffStep(old, cur, nil, nil); !slices.Equal(got, want) {
		t.Errorf("env set/unset: %q, want %q", got, want)
	}
}

func TestDiffStepBaseImage(t *testing.T) {
	a, b := "sha256:"+sha("a"), "sha256:"+sha("b")
	old := &explainStep{ID: "1", Text: "FROM busybox@" + a, Kind: "image", Own: "o1", Fields: ops.Fields(graph.Image{Digest: a, Platform: "linux/amd64"})}
	cur := &explainStep{ID: "1", Text: "FROM busybox@" + b, Kind: "image", Own: "o2", Fields: ops.Fields(graph.Image{Digest: b, Platform: "linux/amd64"})}
	want := []string{"changed: base image digest sha256:" + sha("a")[:12] + "… → sha256:" + sha("b")[:12] + "…"}
	if got := diffStep(old, cur, nil, nil); !slices.Equal(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestDiffStepFiles(t *testing.T) {
	copyStep := func(own, digest string) *explainStep {
		return &explainStep{ID: "3", Text: "COPY src/ /app/", Kind: "copy", Own: own,
			Fields:  ops.Fields(graph.Copy{Sources: []graph.Source{{Input: 1, Path: "src/"}}, Dest: "/app/"}),
			Sources: []explainSource{{Path: "src/", Digest: digest}}}
	}
	old, cur := copyStep("a", "sha256:"+sha("1")), copyStep("b", "sha256:"+sha("2"))
	oldFiles := [][]ops.FileDigest{{
		{Path: "src", Mode: 0o755 | os.ModeDir},
		{Path: "src/gone.c", Mode: 0o644, Value: sha("gone")},
		{Path: "src/main.go", Mode: 0o644, Value: sha("v1")},
		{Path: "src/run.sh", Mode: 0o644, Value: sha("run")},
		{Path: "src/same", Mode: 0o644, Value: sha("same")},
	}}
	curFiles := [][]ops.FileDigest{{
		{Path: "src", Mode: 0o755 | os.ModeDir},
		{Path: "src/main.go", Mode: 0o644, Value: sha("v2")},
		{Path: "src/new.go", Mode: 0o644, Value: sha("new")},
		{Path: "src/run.sh", Mode: 0o755, Value: sha("run")},
		{Path: "src/same", Mode: 0o644, Value: sha("same")},
	}}
	want := "changed: src/main.go sha256:" + sha("v1")[:12] + "… → sha256:" + sha("v2")[:12] + "… (+3 more files)"
	if got := diffStep(old, cur, oldFiles, curFiles); !slices.Equal(got, []string{want}) {
		t.Errorf("%q, want %q", got, want)
	}
	if got, want := diffFiles(oldFiles[0], curFiles[0]), []string{
		"src/main.go sha256:" + sha("v1")[:12] + "… → sha256:" + sha("v2")[:12] + "…",
		"src/run.sh mode -rw-r--r-- → -rwxr-xr-x", "src/new.go added", "src/gone.c removed",
	}; !slices.Equal(got, want) {
		t.Errorf("diffFiles = %q, want %q", got, want)
	}
	// Without file lists the source's aggregate digest is named.
	want = "changed: content of src/ sha256:" + sha("1")[:12] + "… → sha256:" + sha("2")[:12] + "…"
	if got := diffStep(old, cur, nil, nil); !slices.Equal(got, []string{want}) {
		t.Errorf("no lists: %q, want %q", got, want)
	}
}

func TestMatchStep(t *testing.T) {
	r := &explainRecord{Steps: []*explainStep{
		{ID: "1", Text: "FROM a", Kind: "image"},
		{ID: "2", Text: "RUN x", Kind: "run"},
		{ID: "3", Text: "RUN make", Kind: "run"},
	}}
	// A step inserted above: RUN make is now step 4 and still found.
	if m := r.match(&explainStep{ID: "4", Text: "RUN make", Kind: "run"}); m != r.Steps[2] {
		t.Errorf("moved step matched %+v", m)
	}
	// An edited step is found by its position.
	if m := r.match(&explainStep{ID: "2", Text: "RUN y", Kind: "run"}); m != r.Steps[1] {
		t.Errorf("edited step matched %+v", m)
	}
	if m := r.match(&explainStep{ID: "9", Text: "RUN new", Kind: "run"}); m != nil {
		t.Errorf("new step matched %+v", m)
	}
}

func TestExplainFilesRoundTrip(t *testing.T) {
	srcs := [][]ops.FileDigest{{{Path: "a", Mode: 0o644, Value: sha("a")}, {Path: "l", Mode: os.ModeSymlink | 0o777, Value: "a"}}, nil}
	var buf bytes.Buffer
	if err := encodeExplainFiles(&buf, []fileList{digests(srcs[0]), digests(srcs[1])}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	got, err := decodeExplainFiles(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !slices.Equal(got[0], srcs[0]) || len(got[1]) != 0 {
		t.Errorf("round trip: %+v", got)
	}
	if _, err := decodeExplainFiles(bytes.NewReader(b[:len(b)/2])); err == nil {
		t.Error("a truncated list decoded")
	}
}

// digests is a fileList over a slice.
type digests []ops.FileDigest

func (d digests) Len() int                      { return len(d) }
func (d digests) All() iter.Seq[ops.FileDigest] { return slices.Values(d) }

// explainBuild computes the keys of `COPY src/ /app/` over dir as a build
// does, and returns its explainer.
func explainBuild(t *testing.T, rootDir, dir string) (*Explainer, string) {
	t.Helper()
	env := &ops.Env{Contexts: map[string]string{"context": dir}}
	t.Cleanup(func() { env.Close() })
	n := &graph.Node{
		Op:     graph.Copy{Sources: []graph.Source{{Input: 1, Path: "src/"}}, Dest: "/app/"},
		Inputs: []*graph.Node{{Op: graph.Scratch{}}, {Op: graph.Context{Name: "context"}, Name: "[internal] load build context"}},
		Name:   "[2/2] COPY src/ /app/",
	}
	roots := []*graph.Node{n}
	vs, err := env.Vertices(roots)
	if err != nil {
		t.Fatal(err)
	}
	x := New(Options{RootDir: rootDir, Tmp: t.TempDir(), Target: Target{ContextDir: dir, Platform: "linux/amd64"}, Namespace: "compression=gzip"}, roots, vs)
	var keyAll func(v *solver.Vertex[*ops.State])
	keyAll = func(v *solver.Vertex[*ops.State]) {
		for _, in := range v.Inputs {
			keyAll(in)
		}
		if _, err := v.Op.CacheKey(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	keyAll(vs[0])
	return x, n.Name
}

func TestExplainRecordAndWarmBuild(t *testing.T) {
	rootDir, dir := t.TempDir(), t.TempDir()
	files := map[string]string{"src/a.txt": "one", "src/b.txt": "two", "src/c.txt": "three"}
	for p, c := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644)
	}
	x, step := explainBuild(t, rootDir, dir)
	if got := x.explain(step); !slices.Equal(got, []string{"new step (no earlier build of this target)"}) {
		t.Errorf("first build: %q", got)
	}
	if err := x.Save(); err != nil {
		t.Fatal(err)
	}
	recPath := filepath.Join(x.dir, "record.json")
	before, err := os.Stat(recPath)
	if err != nil {
		t.Fatal(err)
	}
	lists, _ := os.ReadDir(filepath.Join(x.dir, "files"))
	if len(lists) != 1 {
		t.Fatalf("%d file lists after the first build, want 1", len(lists))
	}

	// Unchanged: the key is the same and nothing is rewritten.
	x, _ = explainBuild(t, rootDir, dir)
	if err := x.Save(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(recPath)
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("a warm build rewrote the explain record")
	}

	// Two files edited: the first is named with both digests.
	os.WriteFile(filepath.Join(dir, "src/a.txt"), []byte("ONE"), 0o644)
	os.WriteFile(filepath.Join(dir, "src/c.txt"), []byte("THREE"), 0o644)
	x, _ = explainBuild(t, rootDir, dir)
	want := "changed: src/a.txt sha256:" + sha("one")[:12] + "… → sha256:" + sha("ONE")[:12] + "… (+1 more files)"
	if got := x.explain(step); !slices.Equal(got, []string{want}) {
		t.Errorf("after an edit: %q, want %q", got, want)
	}
	if err := x.Save(); err != nil {
		t.Fatal(err)
	}
	lists, _ = os.ReadDir(filepath.Join(x.dir, "files"))
	if len(lists) != 1 {
		t.Errorf("%d file lists after the second record, want the stale one removed", len(lists))
	}
	x, _ = explainBuild(t, rootDir, dir)
	x.noCache = true
	if got := x.explain(step); !slices.Equal(got, []string{"not looked up (--no-cache)"}) {
		t.Errorf("--no-cache: %q", got)
	}
}

// TestExplainWarmBuildMarksUsed: a build that keeps its explain record
// as it is still marks it used, so GC's age and LRU order see it.
func TestExplainWarmBuildMarksUsed(t *testing.T) {
	rootDir, dir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	x, _ := explainBuild(t, rootDir, dir)
	if err := x.Save(); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(x.dir, past, past); err != nil {
		t.Fatal(err)
	}
	x, _ = explainBuild(t, rootDir, dir)
	if err := x.Save(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(x.dir)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(fi.ModTime()) > time.Hour {
		t.Errorf("explain record last used %s after a warm build, want now", fi.ModTime())
	}
}

package ops

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"iter"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gorae/gorae/cache"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/solver"
)

// KeyRecorder collects, while the solver computes keys, what each step's
// own key was made of: the key itself and the per-file digests of the
// context sources it hashed. `gorae build --explain` compares these with
// the last build of the same target. Recording keeps the entries the
// hash lists anyway plus one string per file; nothing is read twice.
// The recorder is filled by Wrap's ops during Solve's key phase; read it
// (Step) only after that phase, e.g. from an event or after Solve.
type KeyRecorder struct {
	mu    sync.Mutex
	steps map[*graph.Node]*StepKey
	keep  func(own solver.Key) bool // nil: keep every step's files
}

// StepKey is what one step's own key was computed from, beyond the op's
// definition (see Fields).
type StepKey struct {
	Own solver.Key
	// Sources are the context sources the key hashed, in key order: the
	// sources of a COPY/ADD, or the bind mounts of a RUN.
	Sources []*SourceDigest
}

// SourceDigest is one hashed context source.
type SourceDigest struct {
	Path   string // the source as written, or "mount TARGET" for RUN
	Digest string // what entered the key
	// files are the hashed files in key order, packed (see add), in
	// chunks of packChunk bytes: a context of 300,000 files is held
	// until the build ends, and packed it takes about 60 bytes a file
	// instead of a struct, two strings and a hex digest each; chunks
	// grow without copying what they hold.
	files [][]byte
	n     int
	rec   []byte // add's scratch
}

// packChunk is the size of SourceDigest's chunks.
const packChunk = 64 << 10

// add records one hashed file. Each is packed as uvarint(len(path)),
// path, uvarint(mode), then either 1 and the 32 bytes of a lower-case
// hex SHA-256 value, or 0, uvarint(len(value)) and value.
func (s *SourceDigest) add(rel string, mode fs.FileMode, value string) {
	if s == nil {
		return
	}
	b := binary.AppendUvarint(s.rec[:0], uint64(len(rel)))
	b = append(b, rel...)
	b = binary.AppendUvarint(b, uint64(mode))
	if sum, ok := cache.HexDigest(value); ok {
		b = append(b, 1)
		b = append(b, sum[:]...)
	} else {
		b = append(b, 0)
		b = binary.AppendUvarint(b, uint64(len(value)))
		b = append(b, value...)
	}
	s.rec = b
	if last := len(s.files) - 1; last >= 0 && len(s.files[last])+len(b) <= cap(s.files[last]) {
		s.files[last] = append(s.files[last], b...)
	} else {
		s.files = append(s.files, append(make([]byte, 0, max(packChunk, len(b))), b...))
	}
	s.n++
}

// drop forgets the files, keeping the aggregate digest.
func (s *SourceDigest) drop() { s.files, s.n, s.rec = nil, 0, nil }

// Len is the number of files All yields.
func (s *SourceDigest) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// All yields every hashed file in key order.
func (s *SourceDigest) All() iter.Seq[FileDigest] {
	return func(yield func(FileDigest) bool) {
		if s == nil {
			return
		}
		var b []byte
		uvarint := func() uint64 {
			v, n := binary.Uvarint(b)
			b = b[n:]
			return v
		}
		for _, b = range s.files {
			for len(b) > 0 {
				var f FileDigest
				n := uvarint()
				f.Path, b = string(b[:n]), b[n:]
				f.Mode = fs.FileMode(uvarint())
				packed := b[0] == 1
				b = b[1:]
				if packed {
					f.Value, b = hex.EncodeToString(b[:sha256.Size]), b[sha256.Size:]
				} else {
					n := uvarint()
					f.Value, b = string(b[:n]), b[n:]
				}
				if !yield(f) {
					return
				}
			}
		}
	}
}

// Files lists every hashed file in key order.
func (s *SourceDigest) Files() []FileDigest {
	if s == nil {
		return nil
	}
	return slices.AppendSeq(make([]FileDigest, 0, s.n), s.All())
}

// FileDigest is one hashed file: Value is the content's SHA-256 (hex) for
// a regular file, the link target for a symlink, "" otherwise.
type FileDigest struct {
	Path  string
	Mode  fs.FileMode
	Value string
}

// NewKeyRecorder returns an empty recorder.
func NewKeyRecorder() *KeyRecorder {
	return &KeyRecorder{steps: map[*graph.Node]*StepKey{}}
}

// KeepFiles limits the per-file digests kept to the steps whose own key
// keep accepts; the others keep only their sources' aggregate digests.
// Call it before the solve. A build that will not explain its misses
// needs the files only of steps whose key is new (Explainer.Save writes
// no others), and a warm build then holds none.
func (r *KeyRecorder) KeepFiles(keep func(own solver.Key) bool) { r.keep = keep }

// Wrap makes every vertex of vs (made by Env.Vertices from roots, in the
// same order) record its key into r. Vertices are changed in place.
func (r *KeyRecorder) Wrap(roots []*graph.Node, vs []*solver.Vertex[*State]) {
	seen := map[*solver.Vertex[*State]]bool{}
	var visit func(n *graph.Node, v *solver.Vertex[*State])
	visit = func(n *graph.Node, v *solver.Vertex[*State]) {
		if n == nil || v == nil || seen[v] || len(n.Inputs) != len(v.Inputs) {
			return
		}
		seen[v] = true
		for i := range n.Inputs {
			visit(n.Inputs[i], v.Inputs[i])
		}
		v.Op = &recordingOp{Op: v.Op, node: n, rec: r}
	}
	for i := range roots {
		if i < len(vs) {
			visit(roots[i], vs[i])
		}
	}
}

// Step returns what n's key was made of, if it was computed.
func (r *KeyRecorder) Step(n *graph.Node) (StepKey, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.steps[n]
	if !ok {
		return StepKey{}, false
	}
	return *s, true
}

// begin starts (or restarts, when a build solves again) n's record.
func (r *KeyRecorder) begin(n *graph.Node) *StepKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &StepKey{}
	r.steps[n] = s
	return s
}

// recordingOp records its op's key; Exec passes through.
type recordingOp struct {
	solver.Op[*State]
	node *graph.Node
	rec  *KeyRecorder
}

type stepKeyCtx struct{}

func (o *recordingOp) CacheKey(ctx context.Context) (solver.Key, error) {
	s := o.rec.begin(o.node)
	k, err := o.Op.CacheKey(context.WithValue(ctx, stepKeyCtx{}, s))
	if err == nil && o.rec.keep != nil && !o.rec.keep(k) {
		// Only this CacheKey touched s.Sources.
		for _, src := range s.Sources {
			src.drop()
		}
	}
	o.rec.mu.Lock()
	s.Own = k
	o.rec.mu.Unlock()
	return k, err
}

// explainSource starts the record of one hashed source of the step whose
// CacheKey runs under ctx; nil when nothing records.
func explainSource(ctx context.Context, p string) *SourceDigest {
	s, _ := ctx.Value(stepKeyCtx{}).(*StepKey)
	if s == nil {
		return nil
	}
	// Only this step's CacheKey appends, and Step reads after the solve.
	src := &SourceDigest{Path: p}
	s.Sources = append(s.Sources, src)
	return src
}

func (s *SourceDigest) done(digest string) {
	if s != nil {
		s.Digest = digest
	}
}

// Field is one value an op's key encodes, named for people.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Text is true when the field is spelled in the instruction itself
	// (a change of it is a change of the instruction's text); false when
	// it comes from elsewhere (ENV, ARG, USER, WORKDIR, the base image).
	Text bool `json:"text,omitempty"`
}

// Fields lists the values opKey encodes for op, so that two builds'
// keys can be compared component by component. Content read from outside
// the graph (context files, downloads) is in StepKey instead.
func Fields(op graph.Op) []Field {
	var out []Field
	add := func(name, value string, text bool) { out = append(out, Field{name, value, text}) }
	switch o := op.(type) {
	case graph.Image:
		add("base image digest", o.Digest, false)
		add("platform", o.Platform, false)
	case graph.Context:
		add("build context", o.Name, true)
		add(".dockerignore patterns", strings.Join(o.Excludes, "\n"), false)
	case graph.HTTP:
		add("url", o.URL, true)
		add("checksum", o.Checksum, true)
	case graph.Git:
		add("git url", o.URL, true)
		add("checksum", o.Checksum, true)
	case graph.Mkdir:
		add("path", o.Path, true)
		add("user", o.User, false)
	case graph.Copy:
		for i, s := range o.Sources {
			if s.Inline() {
				// The text of a heredoc is in the Dockerfile, but its
				// content may come from ARG or ENV.
				add(fmt.Sprintf("source %d", i+1), "<<"+s.Path, true)
				sum := sha256.Sum256([]byte(s.Data))
				add(fmt.Sprintf("heredoc %s", s.Path), fmt.Sprintf("%d bytes, sha256:%x", len(s.Data), sum[:6]), false)
				continue
			}
			add(fmt.Sprintf("source %d", i+1), s.Path, true)
		}
		add("destination", o.Dest, true)
		add("--chown", o.Chown, true)
		add("--chmod", o.Chmod, true)
		add("flags", fmt.Sprintf("add=%t link=%t parents=%t unpack=%t keep-git-dir=%t", o.Add, o.Link, o.Parents, o.Unpack, o.KeepGitDir), true)
		add("--exclude", strings.Join(o.Excludes, " "), true)
	case graph.Run:
		add("command", strings.Join(o.Args, " "), true)
		for _, kv := range o.Env {
			k, v, _ := strings.Cut(kv, "=")
			add("env "+k, v, false)
		}
		add("user", o.User, false)
		add("workdir", o.Workdir, false)
		add("network", o.Network, true)
		add("security", o.Security, true)
		for i, m := range o.Mounts {
			add(fmt.Sprintf("mount %d", i+1), mountSpec(m), true)
		}
		paths := make([]string, 0, len(o.Files))
		for p := range o.Files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			add("heredoc "+p, textDigest(o.Files[p]), true)
		}
		add("stdin", textDigest(o.Stdin), true)
	}
	return out
}

func mountSpec(m graph.Mount) string {
	parts := []string{"type=" + m.Type, "target=" + m.Target}
	for _, kv := range [][2]string{{"source", m.Source}, {"id", m.ID}, {"sharing", m.Sharing}, {"mode", m.Mode}, {"uid", m.UID}, {"gid", m.GID}, {"env", m.Env}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if m.Input != 0 {
		parts = append(parts, "from=input"+strconv.Itoa(m.Input))
	}
	if m.ReadOnly {
		parts = append(parts, "readonly")
	}
	if m.Required {
		parts = append(parts, "required")
	}
	if m.Size != 0 {
		parts = append(parts, "size="+strconv.FormatInt(m.Size, 10))
	}
	return strings.Join(parts, ",")
}

// textDigest stands for inline text (heredocs) that may be long.
func textDigest(s string) string {
	if s == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

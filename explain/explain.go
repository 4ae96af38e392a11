package explain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/solver"
)

// Explainer keeps, per build target, a record of what every step's key
// was made of, and for `--explain` says for each cache miss which
// component changed since the last successful build of the same target.
//
// Layout: explain/<target hash>/record.json (small: keys, op fields,
// aggregate digests) and explain/<target hash>/files/<own key hex>
// (gzip'd per-file digests of the context files a step hashed). Both
// are written only when something changed, so a warm build writes
// nothing.
type Explainer struct {
	dir       string
	tmp       string
	rec       *ops.KeyRecorder
	roots     []*graph.Node
	namespace string
	noCache   bool
	why       map[string]string                 // step name → why --no-cache-filter ran it
	print     func(step string, lines []string) // nil: record only

	old    *explainRecord // nil: no earlier build of this target
	oldRaw []byte

	once   sync.Once
	cur    *explainRecord
	byName map[string]*explainStep
	files  map[*explainStep][]*ops.SourceDigest
}

// Options are what one build tells its Explainer.
type Options struct {
	RootDir string // the gorae root: records live in RootDir/explain/<target>
	Tmp     string // a directory on the same filesystem for atomic writes
	Target  Target
	// Namespace names the cache records the build uses
	// ("compression=gzip epoch=N"): a step whose key is unchanged misses
	// when it changed.
	Namespace string
	NoCache   bool // --no-cache: nothing was looked up
	// Why says, by step name, why --no-cache-filter ran a step.
	Why map[string]string
	// Print, when set, is told why each step that starts missed the
	// cache (--explain); nil records only.
	Print func(step string, lines []string)
}

// New starts recording the keys of vs (made from roots); it never
// fails: without a readable record every miss is a "new step".
func New(o Options, roots []*graph.Node, vs []*solver.Vertex[*ops.State]) *Explainer {
	x := &Explainer{
		dir: filepath.Join(o.RootDir, "explain", o.Target.hash()), tmp: o.Tmp,
		rec: ops.NewKeyRecorder(), roots: roots, noCache: o.NoCache,
		namespace: o.Namespace, why: o.Why, print: o.Print,
	}
	x.rec.Wrap(roots, vs)
	if b, err := os.ReadFile(filepath.Join(x.dir, "record.json")); err == nil {
		var r explainRecord
		if json.Unmarshal(b, &r) == nil && r.Version == explainVersion {
			x.old, x.oldRaw = &r, b
		}
	}
	if x.print == nil && x.old != nil {
		// Save writes the file lists of new keys only, and nothing else
		// reads them when no miss is explained.
		had := map[string]bool{}
		for _, s := range x.old.Steps {
			had[s.Own] = true
		}
		x.rec.KeepFiles(func(own solver.Key) bool { return !had[own.String()] })
	}
	return x
}

// Target names what "the same target" is: the context directory, the
// Dockerfile, --target and the platform.
type Target struct {
	ContextDir string
	Dockerfile string // "" = ContextDir/Dockerfile, "-" = standard input
	Stage      string // --target
	Platform   string // os/arch
}

func (t Target) hash() string {
	ctxDir, _ := filepath.Abs(t.ContextDir)
	df := t.Dockerfile
	switch df {
	case "":
		df = filepath.Join(ctxDir, "Dockerfile")
	case "-":
	default:
		df, _ = filepath.Abs(df)
	}
	var e graph.Encoder
	e.String("gorae/explain-target/v1")
	e.String(ctxDir)
	e.String(df)
	e.String(t.Stage)
	e.String(t.Platform)
	sum := sha256.Sum256(e.Bytes())
	return hex.EncodeToString(sum[:])
}

// Events wraps the progress callback: when explaining, a step that
// starts (a miss) is followed by why it missed.
func (x *Explainer) Events(next func(solver.Event)) func(solver.Event) {
	if x.print == nil {
		return next
	}
	return func(e solver.Event) {
		next(e)
		if e.Status != solver.Started || e.Vertex == "" {
			return
		}
		if lines := x.explain(e.Vertex); len(lines) > 0 {
			x.print(e.Vertex, lines)
		}
	}
}

// explain says why the step named name missed the cache. Keys are all
// known once anything starts (the solver computes them first).
func (x *Explainer) explain(name string) []string {
	x.once.Do(func() { x.cur, x.byName, x.files = x.record() })
	cur := x.byName[name]
	if cur == nil || cur.Kind == "context" || cur.Kind == "http" {
		return nil // never cached: nothing to explain
	}
	if x.noCache {
		return []string{"not looked up (--no-cache)"}
	}
	if w := x.why[name]; w != "" {
		return []string{w}
	}
	if x.old == nil {
		return []string{"new step (no earlier build of this target)"}
	}
	old := x.old.match(cur)
	if old == nil {
		return []string{"new step (not in the last build of this target)"}
	}
	var oldFiles, curFiles [][]ops.FileDigest
	if old.Own != cur.Own && len(cur.Sources) > 0 {
		oldFiles, _ = readExplainFiles(filepath.Join(x.dir, "files", ownHex(old.Own)))
		for _, s := range x.files[cur] {
			curFiles = append(curFiles, s.Files())
		}
	}
	lines := diffStep(old, cur, oldFiles, curFiles)
	if len(lines) > 0 {
		return lines
	}
	if x.old.Namespace != x.namespace {
		return []string{fmt.Sprintf("changed: cache namespace %s → %s", x.old.Namespace, x.namespace)}
	}
	return []string{"key unchanged, but its cache record is gone (pruned, or the last build did not keep it)"}
}

// record builds the current record from the recorded keys.
func (x *Explainer) record() (*explainRecord, map[string]*explainStep, map[*explainStep][]*ops.SourceDigest) {
	r := &explainRecord{Version: explainVersion, Namespace: x.namespace}
	byName := map[string]*explainStep{}
	files := map[*explainStep][]*ops.SourceDigest{}
	keys := map[*graph.Node]solver.Key{}
	ids := map[*graph.Node]string{}
	used := map[string]int{}
	graph.Walk(x.roots, func(n *graph.Node) error {
		sk, ok := x.rec.Step(n)
		if !ok {
			return nil
		}
		s := &explainStep{Name: n.Name, Kind: n.Op.Kind(), Own: sk.Own.String(), Fields: ops.Fields(n.Op)}
		s.ID, s.Text = stepID(n.Name)
		if n.Name == "" {
			s.ID = s.Kind
			if c, ok := n.Op.(graph.Context); ok {
				s.ID = "context " + c.Name
			}
		}
		if used[s.ID]++; used[s.ID] > 1 {
			s.ID += fmt.Sprintf(" #%d", used[s.ID])
		}
		ins := make([]solver.Key, len(n.Inputs))
		for i, in := range n.Inputs {
			ins[i] = keys[in]
			s.Inputs = append(s.Inputs, explainInput{ID: ids[in], Key: keys[in].String()})
		}
		k := solver.ComputeKey(sk.Own, ins)
		keys[n], ids[n] = k, s.ID
		s.Key = k.String()
		for _, src := range sk.Sources {
			s.Sources = append(s.Sources, explainSource{Path: src.Path, Digest: src.Digest})
		}
		if len(sk.Sources) > 0 {
			files[s] = sk.Sources
		}
		r.Steps = append(r.Steps, s)
		if n.Name != "" && byName[n.Name] == nil {
			byName[n.Name] = s
		}
		return nil
	})
	return r, byName, files
}

// Save stores this build's record if it differs from the last one, and
// the file lists of steps whose own key the last record did not have.
func (x *Explainer) Save() error {
	cur, _, files := x.record()
	b, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	if bytes.Equal(b, x.oldRaw) {
		// A warm build writes nothing, but marks the target's directory
		// used (GC removes the records of targets not built lately first).
		now := time.Now()
		os.Chtimes(x.dir, now, now)
		return nil
	}
	had := map[string]bool{}
	if x.old != nil {
		for _, s := range x.old.Steps {
			had[s.Own] = true
		}
	}
	keep := map[string]bool{}
	for _, s := range cur.Steps {
		srcs := files[s]
		if len(srcs) == 0 {
			continue
		}
		name := ownHex(s.Own)
		keep[name] = true
		if had[s.Own] {
			continue
		}
		if err := writeExplainFiles(filepath.Join(x.dir, "files"), x.tmp, name, srcs); err != nil {
			return err
		}
	}
	if err := atomicWrite(x.dir, x.tmp, "record.json", func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return err
	}
	// File lists no step of the new record names are stale.
	ents, _ := os.ReadDir(filepath.Join(x.dir, "files"))
	for _, e := range ents {
		if !keep[e.Name()] {
			os.Remove(filepath.Join(x.dir, "files", e.Name()))
		}
	}
	return nil
}

func ownHex(k string) string { return strings.TrimPrefix(k, "sha256:") }

// atomicWrite writes dir/name with write, through a temp file and a
// rename, so a reader never sees half a file.
func atomicWrite(dir, tmp, name string, write func(io.Writer) error) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save explain record: %w", err)
	}
	f, err := os.CreateTemp(tmp, "explain-*")
	if err != nil {
		return fmt.Errorf("save explain record: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		return fmt.Errorf("save explain record %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

package ops

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/cache"
	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/gitsource"
	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/runner"
	"github.com/gorae/gorae/snapshot"
	"github.com/gorae/gorae/solver"
	"github.com/gorae/gorae/store"
)

// Env is what ops need to execute: where blobs, snapshots and images live,
// and the build's settings. One Env serves one build.
type Env struct {
	// Root is $GORAE_ROOT; a step that fails while its filesystem is
	// full says so (CheckSpace).
	Root        string
	Content     *content.Store
	Snapshots   *snapshot.Store
	Images      *store.Store
	Registry    registry.Options
	Contexts    map[string]string // context name ("context" = main) → directory
	Compression archive.Compression
	Docker      bool // Docker v2s2 media types instead of OCI
	Jobs        int
	Epoch       *time.Time
	HTTP        *http.Client
	// Git fetches and checks out git sources (ADD <git URL>); nil
	// refuses them.
	Git *gitsource.Client
	// Stats memoizes context file digests across builds, per context name.
	Stats map[string]*cache.Stats
	// Runner runs RUN steps; nil refuses them.
	Runner *runner.Runner
	// Allow holds the --allow entitlements (network.host, security.insecure).
	Allow map[string]bool
	// Tmp is for short-lived files (heredoc scripts); Mounts holds the
	// directories of RUN --mount=type=cache.
	Tmp, Mounts string
	// Output receives a step's command output.
	Output func(step string) io.Writer
	// Warn, if set, is told what a step had to leave out (a socket a
	// RUN created, which no layer can hold).
	Warn func(format string, args ...any)
	// Transfer, if set, is told the bytes written so far of a large
	// layer (progress.Printer.Transfer).
	Transfer func(id, label string, done, total int64)
	// Secrets are the --secret values by id, read before the build;
	// SSH maps a --ssh id to the agent socket it forwards.
	Secrets map[string][]byte
	SSH     map[string]string
	// SeedCacheMount, if set, is called when a RUN that executes needs a
	// cache mount whose directory does not exist yet: it may create dir
	// (by an atomic rename; losing the race to another build is fine)
	// from an imported cache. A seed that cannot be had is the hook's to
	// report; an error fails the step.
	SeedCacheMount func(ctx context.Context, id, dir string) error
	// Outside says the build runs outside gorae's user namespace, as a
	// rootless gorae's first, cache-only try: steps that would execute
	// (RUN, COPY, WORKDIR) fail with ErrNeedsNamespace instead.
	Outside bool
	// Isolation is the RUN sandbox's (runner.Process.Isolation): "" for
	// namespaces, runner.IsolationChroot for none.
	Isolation string
	// ShareLayers makes identical layers one blob, compressed once: a
	// multi-platform build's COPY of the context onto each platform's
	// base (see writeSharedLayer).
	ShareLayers bool
	// NotBefore, when set, holds every RUN until that time (runClock).
	NotBefore time.Time

	lastRun atomic.Int64

	shared   sharedLayers
	rewrites sync.Map // diffID → func(context.Context, *archive.Writer) error (keepRewrite)
	mu       sync.Mutex
	roots    []*os.Root
	dirs     []*archive.Dirs // of the contexts in roots
	views    map[string]archive.FS
	contexts map[string]archive.FS
	pins     map[string]string // node digest → what an HTTP or git source resolved to
}

// Pinned says what the HTTP or git source node with digest node resolved
// to in this build: the downloaded file's digest ("sha256:…") or the
// commit checked out. Every source resolves while the solver computes
// keys, cached or not, so after a solve every such node has its pin:
// provenance lists them as resolved dependencies.
func (e *Env) Pinned(node string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.pins[node]
	return v, ok
}

func (e *Env) pin(node, v string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pins == nil {
		e.pins = map[string]string{}
	}
	e.pins[node] = v
}

// Close releases the context directories opened during the build.
func (e *Env) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range e.dirs {
		d.Close()
	}
	for _, r := range e.roots {
		r.Close()
	}
	e.roots, e.dirs = nil, nil
	return nil
}

// Vertices turns the graph under roots into solver vertices, one per
// node definition: nodes with the same digest (the same step of two
// platforms' graphs, a stage FROM --platform=$BUILDPLATFORM they share)
// are one vertex, which the solver runs once.
func (e *Env) Vertices(roots []*graph.Node) ([]*solver.Vertex[*State], error) {
	vs := map[*graph.Node]*solver.Vertex[*State]{}
	byDigest := map[string]*solver.Vertex[*State]{}
	err := graph.Walk(roots, func(n *graph.Node) error {
		if v, ok := byDigest[n.Digest()]; ok {
			vs[n] = v
			return nil
		}
		op, err := e.op(n)
		if err != nil {
			return err
		}
		v := &solver.Vertex[*State]{Name: n.Name, Op: spaceOp{Op: op, root: e.Root}}
		for _, in := range n.Inputs {
			v.Inputs = append(v.Inputs, vs[in])
		}
		vs[n] = v
		byDigest[n.Digest()] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*solver.Vertex[*State], len(roots))
	for i, r := range roots {
		out[i] = vs[r]
	}
	return out, nil
}

func (e *Env) op(n *graph.Node) (solver.Op[*State], error) {
	switch o := n.Op.(type) {
	case graph.Scratch:
		return scratchOp{}, nil
	case graph.Image:
		return &imageOp{env: e, op: o}, nil
	case graph.Context:
		return &contextOp{env: e, op: o}, nil
	case graph.HTTP:
		return &httpOp{env: e, op: o, node: n}, nil
	case graph.Git:
		return &gitOp{env: e, op: o, node: n}, nil
	case graph.Copy:
		return e.inside(&copyOp{env: e, op: o, node: n}), nil
	case graph.Mkdir:
		return e.inside(&mkdirOp{env: e, op: o, node: n}), nil
	case graph.Run:
		return e.inside(&runOp{env: e, op: o, node: n}), nil
	}
	return nil, fmt.Errorf("unknown op %T", n.Op)
}

func (e *Env) uncompressed(l Layer) func(context.Context) (io.ReadCloser, error) {
	return Uncompressed(e.Content, l, e.Transfer)
}

// Uncompressed opens layer l's blob in c (streaming one that is not
// local from its registry while it is stored, content.Store.Stream) and
// decompresses it with the decoder its magic bytes name: klauspost's
// inflate, which unpacks a gzip layer faster than the standard
// library's that go-containerregistry's v1.Layer uses. A download is
// shown through report (progress.Printer.Transfer), if set.
func Uncompressed(c *content.Store, l Layer, report func(id, label string, done, total int64)) func(context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) {
		remote := !c.Has(l.Digest)
		f, err := c.Stream(ctx, l.Digest)
		if err != nil {
			return nil, err
		}
		if remote && report != nil {
			short := progress.ShortDigest(l.Digest.String())
			f = &progress.MeteredReader{ReadCloser: f, Transfer: report, ID: "pull " + l.Digest.String(),
				Running: "pulling layer " + short, Finished: "pulled layer " + short, Total: l.Size}
		}
		zr, _, err := archive.Decompress(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, closers{zr, f}}, nil
	}
}

// closers closes each in turn and returns the first error.
type closers []io.Closer

func (cs closers) Close() error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (e *Env) warn(format string, args ...any) {
	if e.Warn != nil {
		e.Warn(format, args...)
	}
}

func (e *Env) now() int64 {
	if e.Epoch != nil {
		return e.Epoch.Unix()
	}
	return time.Now().Unix()
}

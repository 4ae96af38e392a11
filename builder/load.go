package builder

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
)

// loadDockerfile reads the Dockerfile as the step BuildKit shows first,
// "[internal] load build definition from NAME".
// The step is returned, ended, for the build checks' warnings.
func loadDockerfile(o Options) ([]byte, string, *progress.Step, error) {
	name := "Dockerfile"
	if o.Dockerfile != "" && o.Dockerfile != "-" {
		name = filepath.Base(o.Dockerfile)
	}
	st := o.Progress.Step("[internal] load build definition from " + name)
	b, name, err := readDockerfile(o)
	if err == nil {
		st.Logf("transferring dockerfile: %s done", transferSize(len(b)))
	}
	st.End(err)
	return b, name, st, err
}

// lintWarnings shows the build checks' findings as BuildKit and buildx
// do: in plain mode each as "#N WARN: Rule: message (line L)" in the
// block of the Dockerfile's step (other modes and other warnings as
// before: a WARNING line); at the end of the build, in every mode but
// quiet and json, a summary " N warnings found …:" with a line " - Rule:
// message (line L)" each.
// Each finding is shown once, however many platforms' conversions make
// it.
type lintWarnings struct {
	p       *progress.Printer
	step    *progress.Step
	mu      sync.Mutex
	seen    map[string]bool
	short   []string
	pending []string // plain mode's WARN lines not shown yet (flush)
}

func (l *lintWarnings) warn(w frontend.Warning) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := fmt.Sprintf("%s\x00%d\x00%s\x00%s", w.File, w.Line, w.Rule, w.Msg)
	if l.seen[key] {
		return
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	l.seen[key] = true
	if w.Rule == "" {
		if w.Line > 0 {
			l.p.Warnf("%s:%d: %s", w.File, w.Line, w.Msg)
		} else {
			l.p.Warnf("%s", w.Msg)
		}
		return
	}
	short := w.Rule + ": " + w.Msg
	if w.Line > 0 {
		short += fmt.Sprintf(" (line %d)", w.Line)
	}
	l.short = append(l.short, short)
	switch {
	case l.p.Plain():
		l.pending = append(l.pending, "WARN: "+short)
	case w.Line > 0:
		l.p.Warnf("%s:%d: %s", w.File, w.Line, w.Msg)
	default:
		l.p.Warnf("%s", w.Msg)
	}
}

// flush shows the WARN lines kept so far in one block, as BuildKit's
// display shows the warnings that came together.
func (l *lintWarnings) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.step.Lines(l.pending)
	l.pending = nil
}

// summary prints buildx's list of the warnings, after the steps.
func (l *lintWarnings) summary() {
	l.flush()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.short) == 0 || l.p.Quiet() || l.p.JSON() {
		return
	}
	head := fmt.Sprintf(" %d warnings found (gorae build --check explains them):", len(l.short))
	if len(l.short) == 1 {
		head = " 1 warning found (gorae build --check explains it):"
	}
	l.p.Logf("%s", head)
	for _, s := range l.short {
		l.p.Logf(" - %s", s)
	}
	l.short = nil // printed once, whether the build ends well or not
}

// loadExcludes reads the .dockerignore as the step "[internal] load
// .dockerignore".
func loadExcludes(o Options) ([]string, error) {
	st := o.Progress.Step("[internal] load .dockerignore")
	ex, size, err := readExcludes(o)
	if err == nil {
		st.Logf("transferring context: %s done", transferSize(size))
	}
	st.End(err)
	return ex, err
}

// transferSize is a size as BuildKit's plain progress shows it: "330B",
// "2.05kB".
func transferSize(n int) string {
	return progress.CompactSize(int64(n))
}

// stepResolver shows each base image resolved as the step BuildKit
// shows, "[internal] load metadata for NAME" ("[linux/arm64 internal]"
// in a multi-platform build); a pull's lines go in its block. Each name
// and platform is one step, however many platforms' graphs ask for it.
type stepResolver struct {
	frontend.ImageResolver
	p     *progress.Printer
	multi bool
	mu    sync.Mutex
	calls map[string]*resolveCall
}

type resolveCall struct {
	done chan struct{}
	ri   *frontend.ResolvedImage
	err  error
}

func newStepResolver(r frontend.ImageResolver, p *progress.Printer, multi bool) *stepResolver {
	return &stepResolver{ImageResolver: r, p: p, multi: multi, calls: map[string]*resolveCall{}}
}

func (r *stepResolver) Resolve(ctx context.Context, ref string, platform v1.Platform) (*frontend.ResolvedImage, error) {
	name, err := registry.Normalize(ref)
	if err != nil {
		name = ref // the resolver says what is wrong with it
	}
	key := name + " " + platform.String()
	r.mu.Lock()
	c, ok := r.calls[key]
	if !ok {
		c = &resolveCall{done: make(chan struct{})}
		r.calls[key] = c
	}
	r.mu.Unlock()
	if ok {
		select {
		case <-c.done:
			return c.ri, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	prefix := "[internal]"
	if r.multi {
		prefix = "[" + images.FormatPlatform(platform) + " internal]"
	}
	st := r.p.Step(prefix + " load metadata for " + name)
	c.ri, c.err = r.ImageResolver.Resolve(ctx, ref, platform)
	st.End(c.err)
	close(c.done)
	return c.ri, c.err
}

// newestCreated is the newest created time of the base images resolved
// so far (the Unix epoch when there were none): the default epoch of a
// build outside a clean git checkout.
func (r *stepResolver) newestCreated() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := time.Unix(0, 0).UTC()
	for _, c := range r.calls {
		select {
		case <-c.done:
		default:
			continue
		}
		if c.err == nil && c.ri != nil && c.ri.Config != nil && c.ri.Config.Created.After(t) {
			t = c.ri.Config.Created.UTC().Truncate(time.Second)
		}
	}
	return t
}

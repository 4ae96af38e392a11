package ops

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"runtime"
	"sync"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/copier"
)

// treeEntry is one listed entry. It keeps the mode, not the FileInfo:
// each FileInfo holds a whole stat buffer (and keeps its directory's
// listing alive), some 170 bytes a file that the hash never reads again.
type treeEntry struct {
	rel   string
	value string // what leaf returned for it (never called for directories)
	mode  fs.FileMode
}

// walkAhead bounds the entries listed ahead of the one being handed
// over: about 130 bytes each (path, digest), so a 300,000-file context
// is walked in a couple of megabytes rather than held whole.
const walkAhead = 1 << 14

// walk hands p and, if it is a directory, everything below it to emit,
// in lexical depth-first order; leaf gives the value of every entry that
// is not a directory. A missing p is nothing: the copy itself reports
// it. Children are described by their directory entries, so a large
// tree costs one getdents and one fstatat per file, not a path walk
// each, and directories ahead of the one emitted are listed (and their
// files digested) concurrently, up to walkAhead entries: a warm build's
// context check is nothing but these system calls, a cold one's mostly
// reading files.
//
// A source that is a symlink is followed (inside the context), as the
// copy follows it, so the key changes with what it points to.
func walk(ctx context.Context, fsys archive.FS, p string, leaf func(string, fs.FileInfo) (string, error), emit func(treeEntry)) error {
	return walkLimited(ctx, fsys, p, leaf, emit, walkAhead)
}

// walkLimited is walk with another bound on the entries listed ahead.
func walkLimited(ctx context.Context, fsys archive.FS, p string, leaf func(string, fs.FileInfo) (string, error), emit func(treeEntry), ahead int) error {
	resolved, fi, err := copier.Resolve(fsys, p, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if resolved == "" {
		resolved = "."
	}
	if !fi.IsDir() {
		v, err := leaf(resolved, fi)
		if err != nil {
			return err
		}
		emit(treeEntry{resolved, v, fi.Mode()})
		return nil
	}
	w := &walker{ctx: ctx, fsys: fsys, leaf: leaf, workers: 2 * runtime.GOMAXPROCS(0), limit: ahead}
	w.more = sync.NewCond(&w.mu)
	defer w.stop()
	emit(treeEntry{rel: resolved, mode: fi.Mode()})
	return w.visit(&dirList{rel: resolved, done: make(chan struct{})}, emit)
}

// dirList is one directory's listing: its children, in name order, with
// a dirList for each subdirectory.
type dirList struct {
	rel     string
	claimed bool // by a worker or the emitter (under walker.mu)
	done    chan struct{}
	ents    []treeEntry
	subs    []*dirList // one per directory among ents, in order
	err     error
}

// walker lists the directories of one walk. The emitter visits them in
// order, listing one itself when no worker has claimed it yet; workers
// list ahead, taking the next directory in depth-first order that is
// waiting (the top of todo), while fewer than limit entries are listed
// and not yet emitted.
type walker struct {
	ctx     context.Context
	fsys    archive.FS
	leaf    func(rel string, fi fs.FileInfo) (string, error)
	workers int
	limit   int // of ahead

	mu      sync.Mutex
	more    *sync.Cond // todo, ahead or stopped changed
	todo    []*dirList // listed directories' subdirectories, the next on top
	ahead   int
	running int // workers started
	stopped bool
	wg      sync.WaitGroup
}

// visit emits the children of d, and below each subdirectory its own.
func (w *walker) visit(d *dirList, emit func(treeEntry)) error {
	w.mu.Lock()
	mine := !d.claimed
	d.claimed = true
	w.mu.Unlock()
	if mine {
		w.list(d)
	} else {
		<-d.done
	}
	if d.err != nil {
		return d.err
	}
	emitted, k := 0, 0
	for _, en := range d.ents {
		emit(en)
		emitted++
		if en.mode.IsDir() {
			w.release(emitted)
			emitted = 0
			if err := w.visit(d.subs[k], emit); err != nil {
				return err
			}
			d.subs[k] = nil
			k++
		}
	}
	w.release(emitted)
	// A directory the emitter listed itself may still be in todo.
	d.ents, d.subs = nil, nil
	return nil
}

// release counts n entries as emitted, which lets workers list further.
func (w *walker) release(n int) {
	if n == 0 {
		return
	}
	w.mu.Lock()
	w.ahead -= n
	w.mu.Unlock()
	w.more.Broadcast()
}

// list reads directory d and its files' values, then queues its
// subdirectories for the workers.
func (w *walker) list(d *dirList) {
	defer close(d.done)
	if d.err = w.ctx.Err(); d.err != nil {
		return
	}
	infos, err := archive.ReadDirInfo(w.fsys, d.rel)
	if err != nil {
		d.err = err
		return
	}
	d.ents = make([]treeEntry, 0, len(infos))
	for _, fi := range infos {
		child := path.Join(d.rel, fi.Name())
		if fi.IsDir() {
			d.ents = append(d.ents, treeEntry{rel: child, mode: fi.Mode()})
			d.subs = append(d.subs, &dirList{rel: child, done: make(chan struct{})})
			continue
		}
		v, err := w.leaf(child, fi)
		if err != nil {
			d.err = err
			return
		}
		d.ents = append(d.ents, treeEntry{child, v, fi.Mode()})
	}
	w.mu.Lock()
	w.ahead += len(d.ents)
	for i := len(d.subs) - 1; i >= 0; i-- {
		w.todo = append(w.todo, d.subs[i])
	}
	for w.running < w.workers && w.running < len(w.todo) && !w.stopped {
		w.running++
		w.wg.Go(w.work)
	}
	w.mu.Unlock()
	w.more.Broadcast()
}

// work lists waiting directories until the walk stops.
func (w *walker) work() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for !w.stopped && (len(w.todo) == 0 || w.ahead >= w.limit) {
			w.more.Wait()
		}
		if w.stopped {
			return
		}
		d := w.todo[len(w.todo)-1]
		w.todo[len(w.todo)-1] = nil
		w.todo = w.todo[:len(w.todo)-1]
		if d.claimed {
			continue // the emitter got there first
		}
		d.claimed = true
		w.mu.Unlock()
		w.list(d)
		w.mu.Lock()
	}
}

// stop ends the workers and waits for them: nothing calls leaf after
// walk returns.
func (w *walker) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.more.Broadcast()
	w.wg.Wait()
}

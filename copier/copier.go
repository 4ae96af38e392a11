package copier

import (
	"archive/tar"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/graph"
	"github.com/moby/patternmatcher"
)

// Source is one filesystem a COPY reads from.
type Source struct {
	FS archive.FS
	// Context marks a build context: owners become 0:0 (or --chown), as
	// Docker does.
	Context bool
	// HTTP marks the result of an HTTP op (one downloaded file): it is
	// copied as a file, never extracted, owned by 0:0 and, without
	// --chmod, given mode 0600 as BuildKit does.
	HTTP bool
	// Git marks a git checkout: owned by 0:0 (or --chown), never
	// extracted, as BuildKit's git source.
	Git bool
	// inline marks a heredoc's filesystem (inlineSource): never
	// extracted, whatever ADD's --unpack says.
	inline bool
}

// Options are the parts of the build state a copy depends on.
type Options struct {
	// Dest is the destination stage's filesystem before the copy: it
	// decides whether the destination is an existing directory, gives
	// the metadata of existing parent directories (included in the layer
	// as an overlay diff would), and holds /etc/passwd and /etc/group for
	// --chown names. nil is an empty filesystem.
	Dest archive.FS
	// Epoch (SOURCE_DATE_EPOCH) is the mtime of directories the copy
	// creates; without it they get the current time, as in BuildKit.
	Epoch *time.Time
	// Tmp is where ADD spools an archive's content while it sorts the
	// entries: the gorae root's temp directory, on the disk that takes
	// the layer anyway ("" = os.TempDir, which may be a small tmpfs).
	Tmp string
}

// Write writes the layer tar for op to w. srcs is indexed like the Copy
// node's Inputs (srcs[0] is unused). Entries are written sorted by path;
// the caller closes w.
func Write(ctx context.Context, w *archive.Writer, op graph.Copy, srcs []Source, o Options) error {
	j, err := newJob(op, o)
	if err != nil {
		return err
	}
	defer j.close()
	for _, s := range op.Sources {
		if s.Inline() {
			continue
		}
		if s.Input < 1 || s.Input >= len(srcs) || srcs[s.Input].FS == nil {
			return fmt.Errorf("%s %s: source input %d is missing", j.instr, s.Path, s.Input)
		}
	}
	if ok, err := j.stream(ctx, w, srcs); err != nil || ok {
		return err
	}
	if err := j.plan(ctx, srcs); err != nil {
		return err
	}
	return j.write(ctx, w)
}

// entry is one planned tar entry. A regular file's content is read at
// write time from fsys/path or from the spool (extracted archives).
type entry struct {
	hdr  tar.Header
	fsys archive.FS
	path string
	// spoolOff is the offset of the content in the job's spool file, or
	// -1 when the content is read from fsys.
	spoolOff int64
	// link groups entries that are hard links of each other.
	link *linkKey
}

type linkKey struct {
	item     int
	dev, ino uint64
}

type owner struct{ uid, gid int }

type job struct {
	op    graph.Copy
	instr string
	dest  *view
	chown *owner
	chmod func(fs.FileMode) fs.FileMode
	excl  *patternmatcher.PatternMatcher
	now   time.Time
	items int // source items processed so far; each has its own hard-link scope
	spool *os.File
	tmp   string // Options.Tmp
	// first names the first entry written of each hard-link group.
	first map[linkKey]string
}

func newJob(op graph.Copy, o Options) (*job, error) {
	j := &job{op: op, instr: "COPY", now: time.Now(), tmp: o.Tmp, first: map[linkKey]string{}}
	if op.Add {
		j.instr = "ADD"
	}
	if o.Epoch != nil {
		j.now = *o.Epoch
	}
	base := o.Dest
	if op.Link {
		// --link copies onto an empty layer that is merged later, so
		// nothing of the destination stage shows through.
		base = nil
	}
	j.dest = &view{base: base, entries: map[string]*entry{}}
	if op.Chown != "" {
		userPart, groupPart, _ := strings.Cut(op.Chown, ":")
		_, uidNum := parseID(userPart)
		_, gidNum := parseID(groupPart)
		if op.Link && (!uidNum || (groupPart != "" && !gidNum)) {
			return nil, fmt.Errorf("--chown=%s: user and group names can't be resolved when used with --link, use numeric uid[:gid] instead", op.Chown)
		}
		var ids archive.FS = emptyFS{}
		if base != nil {
			ids = base
		}
		uid, gid, err := LookupOwner(ids, op.Chown)
		if err != nil {
			return nil, fmt.Errorf("%s --chown=%s: %w", j.instr, op.Chown, err)
		}
		j.chown = &owner{uid, gid}
	}
	if op.Chmod != "" {
		f, err := ParseChmod(op.Chmod)
		if err != nil {
			return nil, err
		}
		j.chmod = f
	}
	if len(op.Excludes) > 0 {
		pm, err := patternmatcher.New(op.Excludes)
		if err != nil {
			return nil, fmt.Errorf("%s --exclude: %w", j.instr, err)
		}
		j.excl = pm
	}
	return j, nil
}

func (j *job) close() {
	if j.spool != nil {
		name := j.spool.Name()
		j.spool.Close()
		os.Remove(name)
	}
}

// newDirMeta is the owner and mode of a directory the copy creates on
// the way to the destination (the destination itself and its missing
// parents): the --chown owner (else root) and 0755, or the mode of an
// octal --chmod. That is what BuildKit's copy (fsutil's MkdirAll with the
// copy's Chown and Mode) makes; a symbolic --chmod is not a mode there,
// so those directories stay 0755.
func (j *job) newDirMeta() dirMeta {
	m := dirMeta{mode: fs.ModeDir | 0o755}
	if j.chown != nil {
		m.uid, m.gid = j.chown.uid, j.chown.gid
	}
	if j.chmod != nil && octalChmod(j.op.Chmod) {
		m.mode = j.chmod(m.mode)
	}
	return m
}

// write emits the planned entries sorted by path.
func (j *job) write(ctx context.Context, w *archive.Writer) error {
	names := make([]string, 0, len(j.dest.entries))
	for n := range j.dest.entries {
		names = append(names, n)
	}
	slices.SortFunc(names, comparePaths)
	for _, n := range names {
		if err := j.emit(ctx, w, n, j.dest.entries[n]); err != nil {
			return err
		}
	}
	return nil
}

// comparePaths orders paths component-wise ("a", "a/b", "a-"), as a
// depth-first walk of name-sorted directories gives them: every
// directory right before its contents. It is strings.Compare with "/"
// below every other byte, without building new strings.
func comparePaths(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return -1
		}
		if cb == '/' {
			return 1
		}
		return cmp.Compare(ca, cb)
	}
	return cmp.Compare(len(a), len(b))
}

// emit writes entry e as name. The first entry of a hard-link group in
// write order carries the content; the others link to it.
func (j *job) emit(ctx context.Context, w *archive.Writer, name string, e *entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h := e.hdr
	h.Name = name
	if e.link != nil {
		if target, ok := j.first[*e.link]; ok {
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, target, 0
			return w.WriteHeader(&h)
		}
		j.first[*e.link] = name
	}
	if err := w.WriteHeader(&h); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeReg && h.Size > 0 {
		return j.writeContent(w, e, &h)
	}
	return nil
}

func (j *job) writeContent(w *archive.Writer, e *entry, h *tar.Header) error {
	var r io.Reader
	if e.spoolOff >= 0 {
		r = io.NewSectionReader(j.spool, e.spoolOff, h.Size)
	} else {
		f, err := e.fsys.Open(e.path)
		if err != nil {
			return fmt.Errorf("open /%s: %w", e.path, err)
		}
		defer f.Close()
		r = f
	}
	n, err := io.CopyN(w, r, h.Size)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("copy /%s: file shrank from %d to %d bytes while copying; retry the build", e.path, h.Size, n)
	}
	if err != nil {
		return fmt.Errorf("copy /%s: %w", e.path, err)
	}
	return nil
}

// emptyFS is the filesystem of FROM scratch and of --link destinations.
type emptyFS struct{}

func (emptyFS) Lstat(name string) (fs.FileInfo, error) {
	if name == "." {
		return rootInfo{}, nil
	}
	return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
}
func (emptyFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name == "." {
		return nil, nil
	}
	return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
}
func (emptyFS) Readlink(name string) (string, error) {
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrNotExist}
}
func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

type rootInfo struct{}

func (rootInfo) Name() string       { return "." }
func (rootInfo) Size() int64        { return 0 }
func (rootInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (rootInfo) ModTime() time.Time { return time.Time{} }
func (rootInfo) IsDir() bool        { return true }
func (rootInfo) Sys() any           { return nil }

package copier

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/gorae/gorae/archive"
)

// stream writes the copy without planning it first, when that gives the
// same layer: one source that is a directory (COPY . /src/, COPY app/
// /app/), without --parents and without --exclude exceptions ("!"
// patterns). Its entries cannot overlap, and a depth-first walk of
// name-sorted directories meets them in the order write sorts them in
// (see comparePaths), so each entry is written as it is listed: memory
// does not grow with the tree, where a plan holds every entry of a
// 300,000-file context at once. It reports false, having written
// nothing, when the copy needs a plan.
func (j *job) stream(ctx context.Context, w *archive.Writer, srcs []Source) (bool, error) {
	if j.op.Parents || (j.excl != nil && j.excl.Exclusions()) {
		return false, nil
	}
	items, err := j.sourceItems(srcs)
	if err != nil || len(items) != 1 || items[0].src.inline {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	it := items[0]
	rp, fi, err := resolve(it.src.FS, it.path, true)
	if err != nil || !fi.IsDir() {
		return false, nil // planItem reports the error
	}
	j.items++
	dir, err := j.mkdirAll(j.op.Dest, j.newDirMeta())
	if err != nil {
		return false, fmt.Errorf("%s %s: cannot copy a directory to %s: %w", j.instr, "/"+it.path, j.op.Dest, err)
	}
	// What is planned now is dir and its parents, which sort before
	// everything below dir.
	if err := j.write(ctx, w); err != nil {
		return false, err
	}
	return true, j.streamDir(ctx, w, it.src, rp, "", dir)
}

// streamDir writes the children of directory srcDir (resolved, in src)
// below dstDir, depth first, as walkDir plans them when nothing is
// excluded with exceptions and there is no --parents pattern.
func (j *job) streamDir(ctx context.Context, w *archive.Writer, src Source, srcDir, rel, dstDir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ents, err := src.FS.ReadDir(dirName(srcDir))
	if err != nil {
		return fmt.Errorf("read directory /%s: %w", srcDir, err)
	}
	byName := func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) }
	if !slices.IsSortedFunc(ents, byName) {
		slices.SortFunc(ents, byName)
	}
	for _, de := range ents {
		name := de.Name()
		cs, cr, cd := join(srcDir, name), join(rel, name), join(dstDir, name)
		fi, err := src.FS.Lstat(cs)
		if err != nil {
			return fmt.Errorf("lstat /%s: %w", cs, err)
		}
		if j.excl != nil {
			excluded, err := j.excl.MatchesOrParentMatches(cr)
			if err != nil {
				return fmt.Errorf("%s --exclude: %w", j.instr, err)
			}
			if excluded {
				continue // and, without exceptions, everything below it
			}
		}
		e, err := j.sourceEntry(src, cs, fi)
		if err != nil {
			return err
		}
		if err := j.emit(ctx, w, cd, e); err != nil {
			return err
		}
		if fi.IsDir() {
			if err := j.streamDir(ctx, w, src, cs, cr, cd); err != nil {
				return err
			}
		}
	}
	return nil
}

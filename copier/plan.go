package copier

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// item is one matched source: a path of one source filesystem as named
// (wildcards expanded, symlinks not yet followed).
type item struct {
	src  Source
	path string
}

// plan fills j.dest.entries with everything the copy writes.
func (j *job) plan(ctx context.Context, srcs []Source) error {
	if j.op.Parents {
		for _, s := range j.op.Sources {
			var err error
			if s.Inline() {
				// --parents shapes paths of the context only.
				err = j.planItem(ctx, item{inlineSource(s, j.now), s.Path}, false)
			} else {
				err = j.planParents(ctx, srcs[s.Input], s.Path)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	items, err := j.sourceItems(srcs)
	if err != nil {
		return err
	}
	return j.planItems(ctx, items)
}

// sourceItems lists the matched sources of a copy without --parents, in
// order: wildcards expanded, inline sources as they are.
func (j *job) sourceItems(srcs []Source) ([]item, error) {
	var items []item
	for _, s := range j.op.Sources {
		if s.Inline() {
			items = append(items, item{inlineSource(s, j.now), s.Path})
			continue
		}
		src := srcs[s.Input]
		if !hasWildcards(s.Path) {
			items = append(items, item{src, clean(s.Path)})
			continue
		}
		// A wildcard matching nothing is skipped, as in BuildKit
		// (AllowEmptyWildcard); only a copy of nothing at all fails.
		m, err := expand(src.FS, s.Path)
		if err != nil {
			return nil, err
		}
		for _, p := range m {
			items = append(items, item{src, p})
		}
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s failed: no source files were specified", j.instr)
	}
	return items, nil
}

// planItems plans every item, in order.
func (j *job) planItems(ctx context.Context, items []item) error {
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := j.planItem(ctx, it, len(items) > 1); err != nil {
			return err
		}
	}
	return nil
}

func notFound(p string) error {
	return fmt.Errorf("%q: %w", "/"+clean(p), ErrNotFound)
}

// ErrNotFound is wrapped by the error for a source path that does not exist
// (`"/missing.txt": not found`, BuildKit's wording).
var ErrNotFound = errors.New("not found")

// planItem copies one source: a directory's contents into Dest, an
// archive extracted into Dest (ADD), anything else as a file.
func (j *job) planItem(ctx context.Context, it item, several bool) error {
	j.items++
	// A source that is a symlink is followed (BuildKit's FollowSymlinks);
	// links inside a copied directory stay links.
	rp, fi, err := resolve(it.src.FS, it.path, true)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(it.path)
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		dir, err := j.mkdirAll(j.op.Dest, j.newDirMeta())
		if err != nil {
			return fmt.Errorf("%s %s: cannot copy a directory to %s: %w", j.instr, "/"+it.path, j.op.Dest, err)
		}
		_, err = j.walkDir(ctx, it.src, rp, "", dir, nil)
		return err
	}
	if j.op.Add && j.op.Unpack && !it.src.HTTP && !it.src.Git && !it.src.inline && fi.Mode().IsRegular() {
		ok, err := j.extract(ctx, it.src, rp)
		if err != nil || ok {
			return err
		}
	}
	target, err := j.fileTarget(path.Base("/"+it.path), several)
	if err != nil {
		return err
	}
	return j.putSource(it.src, rp, fi, target)
}

// fileTarget decides where a copied file lands: inside Dest when Dest
// ends in "/" or is an existing directory, else at Dest itself.
func (j *job) fileTarget(base string, several bool) (string, error) {
	d := j.op.Dest
	asDir := strings.HasSuffix(d, "/") || strings.HasSuffix(d, "/.") || clean(d) == ""
	if asDir {
		dir, err := j.mkdirAll(d, j.newDirMeta())
		if err != nil {
			return "", err
		}
		return join(dir, base), nil
	}
	parent, err := j.mkdirAll(path.Dir(path.Clean("/"+d)), j.newDirMeta())
	if err != nil {
		return "", err
	}
	rp, fi, err := resolve(j.dest, join(parent, path.Base("/"+d)), true)
	switch {
	case err == nil && fi.IsDir():
		j.copyUp(rp)
		return join(rp, base), nil
	case several:
		return "", fmt.Errorf("When using %s with more than one source file, the destination must be a directory and end with a /", j.instr)
	case err == nil || errors.Is(err, fs.ErrNotExist):
		return rp, nil
	}
	return "", err
}

// walkDir copies the children of directory srcDir (resolved, in src) to
// dstDir. rel is srcDir relative to the copied source root, the path
// --exclude and --parents patterns are matched against. It reports
// whether anything was planned.
func (j *job) walkDir(ctx context.Context, src Source, srcDir, rel, dstDir string, inc *includer) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ents, err := src.FS.ReadDir(dirName(srcDir))
	if err != nil {
		return false, fmt.Errorf("read directory /%s: %w", srcDir, err)
	}
	added := false
	for _, de := range ents {
		name := de.Name()
		cs, cr, cd := join(srcDir, name), join(rel, name), join(dstDir, name)
		fi, err := src.FS.Lstat(cs)
		if err != nil {
			return false, fmt.Errorf("lstat /%s: %w", cs, err)
		}
		included := inc == nil || inc.includes(cr)
		excluded := false
		if j.excl != nil {
			if excluded, err = j.excl.MatchesOrParentMatches(cr); err != nil {
				return false, fmt.Errorf("%s --exclude: %w", j.instr, err)
			}
		}
		if !fi.IsDir() {
			if included && !excluded {
				if err := j.putSource(src, cs, fi, cd); err != nil {
					return false, err
				}
				added = true
			}
			continue
		}
		mayInclude := included || inc.mayInclude(cr)
		mayKeep := !excluded || j.excl.Exclusions()
		if !mayInclude || !mayKeep {
			continue
		}
		if included && !excluded {
			if err := j.putSource(src, cs, fi, cd); err != nil {
				return false, err
			}
			added = true
			if _, err := j.walkDir(ctx, src, cs, cr, cd, inc); err != nil {
				return false, err
			}
			continue
		}
		// Neither included nor excluded outright: the directory exists
		// in the copy only as the parent of something that is.
		sub, err := j.walkDir(ctx, src, cs, cr, cd, inc)
		if err != nil {
			return false, err
		}
		if sub {
			if err := j.putSource(src, cs, fi, cd); err != nil {
				return false, err
			}
			added = true
		}
	}
	return added, nil
}

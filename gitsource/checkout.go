package gitsource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options of a checkout.
type Options struct {
	// KeepGitDir keeps a .git directory (a shallow clone at the commit,
	// origin set to the remote), as ADD --keep-git-dir=true. It applies
	// only without a subdirectory, as in BuildKit.
	KeepGitDir bool
	// NoSubmodules skips `git submodule update` (?submodules=false).
	NoSubmodules bool
}

// Key names a checkout by what it holds: the commit, the subdirectory,
// whether .git is kept (and then the ref, which .git records) and
// whether submodules are fetched. The remote is not part of it: the
// same commit from a mirror is the same tree.
func Key(r *Resolved, o Options) string {
	h := sha256.New()
	field := func(s string) {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	field("gorae/git/v1")
	field(r.Commit)
	field(r.URL.Subdir)
	if o.keep(r) {
		field("keep-git-dir")
		field(r.Ref)
	}
	if o.NoSubmodules {
		field("no-submodules")
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (o Options) keep(r *Resolved) bool { return o.KeepGitDir && r.URL.Subdir == "" }

// Checkout returns the directory holding r's tree (the subdirectory's,
// when the URL names one), fetching and checking it out the first time.
// The directory is shared and must not be changed. Files are as git
// checks them out with umask 022 (0644, 0755 when executable,
// directories 0755), owned by the caller, with the time of the checkout.
func (c *Client) Checkout(ctx context.Context, r *Resolved, o Options) (string, error) {
	final := filepath.Join(c.Dir, "checkouts", Key(r, o))
	if _, err := os.Lstat(final); err == nil {
		touch(final)
		return final, nil
	}
	for _, d := range []string{filepath.Join(c.Dir, "checkouts"), filepath.Join(c.Dir, "repos")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", err
		}
	}
	unlock, err := lockFile(ctx, filepath.Join(c.Dir, "repos", remoteName(r.URL.Remote)+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Lstat(final); err == nil {
		return final, nil // another gorae made it while this one waited
	}
	bare, err := c.fetch(ctx, r, o.keep(r))
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(c.Tmp, "git-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	tree, err := c.checkout(ctx, r, o, bare, tmp)
	if err != nil {
		return "", fmt.Errorf("%s: check out commit %s: %w", r.URL, r.Commit, err)
	}
	if err := os.Rename(tree, final); err != nil {
		if _, serr := os.Lstat(final); serr == nil {
			return final, nil
		}
		return "", err
	}
	return final, nil
}

func remoteName(remote string) string {
	sum := sha256.Sum256([]byte(remote))
	return hex.EncodeToString(sum[:16])
}

// fetch makes sure the bare repository of r's remote holds r.Commit,
// fetching only that ref's tip (depth 1) when it does not. With tag, a
// tag ref also needs its tag object (fetchedTag), which a kept .git
// gets, so that an annotated tag stays annotated (git describe).
func (c *Client) fetch(ctx context.Context, r *Resolved, tag bool) (string, error) {
	bare := filepath.Join(c.Dir, "repos", remoteName(r.URL.Remote))
	touch(bare)
	g := git{gitDir: bare, dir: c.Dir, sshSock: c.SSHAuthSock}
	if _, err := os.Stat(filepath.Join(bare, "HEAD")); err != nil {
		if err := c.initBare(ctx, bare, r.URL.Remote); err != nil {
			return "", err
		}
	}
	os.Remove(filepath.Join(bare, "shallow.lock")) // left by a killed fetch
	if _, err := g.run(ctx, "cat-file", "-e", r.Commit+"^{commit}"); err == nil {
		if !tag || g.fetchedTag(ctx, r) != "" {
			return bare, g.pin(ctx, r.Commit)
		}
	}
	var args []string
	if IsCommit(r.Ref) {
		args = []string{"fetch", "--depth=1", "--no-tags", "origin", r.Commit}
	} else {
		args = []string{"fetch", "--depth=1", "--no-tags", "--force", "origin", "--", r.Ref + ":refs/gorae/fetched/" + strings.TrimPrefix(r.Ref, "refs/")}
	}
	if _, err := g.run(ctx, args...); err != nil {
		return "", c.remoteError(r.URL, err)
	}
	if _, err := g.run(ctx, "cat-file", "-e", r.Commit+"^{commit}"); err != nil {
		// The ref moved since ls-remote: ask for the commit itself.
		if _, err := g.run(ctx, "fetch", "--depth=1", "--no-tags", "origin", r.Commit); err != nil {
			return "", fmt.Errorf("%s: the ref moved to another commit while gorae fetched %s, and the server does not give that commit: build again", r.URL, r.Commit)
		}
	}
	return bare, g.pin(ctx, r.Commit)
}

// fetchedTag is the bare repository's copy of r's tag ref (pointing to
// the tag object of an annotated tag) when r names a tag and the copy
// leads to r.Commit; "" otherwise.
func (g git) fetchedTag(ctx context.Context, r *Resolved) string {
	if !strings.HasPrefix(r.Ref, "refs/tags/") {
		return ""
	}
	ref := "refs/gorae/fetched/" + strings.TrimPrefix(r.Ref, "refs/")
	out, err := g.run(ctx, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil || strings.TrimSpace(string(out)) != r.Commit {
		return ""
	}
	return ref
}

// pin names the commit in the bare repository, so that a checkout with
// .git can fetch it by name and a shallow fetch of a moved branch keeps it.
func (g git) pin(ctx context.Context, commit string) error {
	_, err := g.run(ctx, "update-ref", "refs/gorae/pin/"+commit, commit)
	return err
}

func (c *Client) initBare(ctx context.Context, bare, remote string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(bare), ".init-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	g := git{gitDir: tmp, dir: c.Dir}
	if _, err := g.run(ctx, "-c", "init.defaultBranch=master", "init", "--bare", "--quiet"); err != nil {
		return err
	}
	if _, err := g.run(ctx, "remote", "add", "origin", remote); err != nil {
		return err
	}
	os.RemoveAll(bare) // a repository without HEAD is a broken one
	return os.Rename(tmp, bare)
}

// checkout writes the tree of r.Commit under tmp and returns its path.
func (c *Client) checkout(ctx context.Context, r *Resolved, o Options, bare, tmp string) (string, error) {
	work := filepath.Join(tmp, "tree")
	if err := os.Mkdir(work, 0o755); err != nil {
		return "", err
	}
	var g git
	if o.keep(r) {
		g = git{gitDir: filepath.Join(work, ".git"), workTree: work, sshSock: c.SSHAuthSock}
		if _, err := g.run(ctx, "-c", "init.defaultBranch=master", "init", "--quiet"); err != nil {
			return "", err
		}
		// file:// rather than a path: no local-clone shortcuts (hard
		// links into the shared repository).
		if _, err := g.run(ctx, "remote", "add", "origin", "file://"+bare); err != nil {
			return "", err
		}
		spec := "refs/gorae/pin/" + r.Commit
		if tag := (git{gitDir: bare, dir: c.Dir}).fetchedTag(ctx, r); tag != "" {
			spec = tag // an annotated tag stays one, as in BuildKit
		}
		if strings.HasPrefix(r.Ref, "refs/") {
			spec += ":" + r.Ref
		}
		if _, err := g.run(ctx, "fetch", "-u", "--depth=1", "--no-tags", "--", "origin", spec); err != nil {
			return "", err
		}
		if _, err := g.run(ctx, "checkout", "--quiet", "FETCH_HEAD"); err != nil {
			return "", err
		}
		if _, err := g.run(ctx, "remote", "set-url", "origin", Redact(r.URL.Remote)); err != nil {
			return "", err
		}
		if _, err := g.run(ctx, "reflog", "expire", "--all", "--expire=now"); err != nil {
			return "", err
		}
		os.Remove(filepath.Join(work, ".git", "FETCH_HEAD"))
	} else {
		// The shared repository is bare: a private index keeps
		// concurrent checkouts of other commits apart.
		g = git{gitDir: bare, workTree: work, sshSock: c.SSHAuthSock, env: []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}}
		if _, err := g.run(ctx, "checkout", "--no-overlay", r.Commit, "--", "."); err != nil {
			return "", err
		}
	}
	if _, err := os.Lstat(filepath.Join(work, ".gitmodules")); err == nil && !o.NoSubmodules {
		if _, err := g.run(ctx, "submodule", "update", "--init", "--recursive", "--depth=1"); err != nil {
			return "", fmt.Errorf("update submodules: %w", err)
		}
	}
	tree := work
	if sub := r.URL.Subdir; sub != "" {
		if err := dirsOnly(work, sub); err != nil {
			return "", err
		}
		tree = filepath.Join(tmp, "subdir")
		if err := os.Rename(filepath.Join(work, filepath.FromSlash(sub)), tree); err != nil {
			return "", err
		}
	}
	return tree, normalizeModes(tree, o.keep(r))
}

// dirsOnly checks that every element of sub is a directory, not a
// symlink that could lead out of the checkout.
func dirsOnly(work, sub string) error {
	p := work
	for _, el := range strings.Split(sub, "/") {
		p = filepath.Join(p, el)
		fi, err := os.Lstat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("subdirectory %q does not exist in the repository", sub)
			}
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("subdirectory %q: %s is not a directory", sub, strings.TrimPrefix(p, work+"/"))
		}
	}
	return nil
}

// normalizeModes gives the tree the modes of a checkout under umask
// 022, whatever gorae's umask: directories 0755, files 0644 or 0755.
// A kept .git is left as git wrote it.
func normalizeModes(tree string, keep bool) error {
	return filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if keep && d.IsDir() && p == filepath.Join(tree, ".git") {
			return filepath.SkipDir
		}
		var mode os.FileMode
		switch {
		case d.IsDir():
			mode = 0o755
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			mode = 0o644
			if fi.Mode()&0o100 != 0 {
				mode = 0o755
			}
		default:
			return nil
		}
		return os.Chmod(p, mode)
	})
}

// lockFile takes an exclusive flock on path, waiting until ctx ends.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		go func() {
			if <-done == nil {
				f.Close()
			}
		}()
		return nil, context.Cause(ctx)
	}
}

// touch marks a checkout or repository as used now: gorae's garbage
// collection (prune --filter until=, --keep-storage, automatic GC) removes
// the least recently used first. A missing p is left missing.
func touch(p string) {
	now := time.Now()
	os.Chtimes(p, now, now)
}

// CommitTime is the committer time of r's commit, from the repository a
// Checkout fetched it into: the default epoch of a build whose context
// is that checkout.
func (c *Client) CommitTime(ctx context.Context, r *Resolved) (time.Time, error) {
	g := git{gitDir: filepath.Join(c.Dir, "repos", remoteName(r.URL.Remote)), dir: c.Dir, sshSock: c.SSHAuthSock}
	return commitTime(ctx, g, r.Commit)
}

// CleanCommitTime is the committer time of HEAD of the git work tree
// holding dir, if nothing under dir differs from HEAD (modified, staged
// or untracked files; ignored ones do not count): the default epoch of a
// build whose context is a clean checkout. ok is false outside a work
// tree, for a dirty one, and without git.
func CleanCommitTime(ctx context.Context, dir string) (t time.Time, ok bool) {
	if dir == "" || !mayBeWorkTree(dir) {
		return time.Time{}, false
	}
	g := git{dir: dir}
	if out, err := g.run(ctx, "rev-parse", "--is-inside-work-tree"); err != nil || strings.TrimSpace(string(out)) != "true" {
		return time.Time{}, false
	}
	if out, err := g.run(ctx, "status", "--porcelain", "--untracked-files=normal", "--", "."); err != nil || len(bytes.TrimSpace(out)) > 0 {
		return time.Time{}, false
	}
	t, err := commitTime(ctx, g, "HEAD")
	return t, err == nil
}

// mayBeWorkTree reports whether dir or a directory above it holds a .git
// entry: without one git would only say "not a git repository", and
// starting it takes tens of milliseconds, a third of a cached build.
// With GIT_DIR set, git may find a repository elsewhere: it is asked.
func mayBeWorkTree(dir string) bool {
	if os.Getenv("GIT_DIR") != "" {
		return true
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return true
	}
	for {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return true
		}
		up := filepath.Dir(d)
		if up == d {
			return false
		}
		d = up
	}
}

// commitTime is the committer time of commit in g's repository.
func commitTime(ctx context.Context, g git, commit string) (time.Time, error) {
	out, err := g.run(ctx, "log", "-1", "--format=%ct", commit)
	if err != nil {
		return time.Time{}, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("commit time of %s: %w", commit, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

package gitsource_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gorae/gorae/gitsource"
	"github.com/gorae/gorae/internal/testutil"
)

func newClient(t *testing.T) *gitsource.Client {
	dir := t.TempDir()
	return &gitsource.Client{Dir: filepath.Join(dir, "git"), Tmp: dir}
}

func parse(t *testing.T, s string) *gitsource.URL {
	t.Helper()
	u, err := gitsource.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestResolveAndCheckout(t *testing.T) {
	srv := testutil.NewGitServer(t)
	repo := srv.Repo(t, "app")
	c1 := srv.Commit(t, "app", map[string]string{"README": "one\n", "sub/dir/a.txt": "a\n", "run.sh": "#!/bin/sh\n"})
	if err := os.Chmod(filepath.Join(repo, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	c2 := srv.Commit(t, "app", nil)
	testutil.Git(t, repo, "tag", "-a", "-m", "v1", "v1")
	ctx := t.Context()
	c := newClient(t)

	r, err := c.Resolve(ctx, parse(t, srv.URL+"/app.git"), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Commit != c2 || r.Ref != "refs/heads/main" {
		t.Fatalf("default branch resolved to %+v, want %s", r, c2)
	}
	dir, err := c.Checkout(ctx, r, gitsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{".": 0o755 | os.ModeDir, "README": 0o644, "run.sh": 0o755, "sub/dir": 0o755 | os.ModeDir, "sub/dir/a.txt": 0o644} {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: %v, %v; want %v", p, fi.Mode(), err, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, ".git")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".git kept without KeepGitDir: %v", err)
	}
	fetches := srv.Fetches()
	if again, err := c.Checkout(ctx, r, gitsource.Options{}); err != nil || again != dir || srv.Fetches() != fetches {
		t.Errorf("second checkout of the same commit: %s, %v, %d fetches (was %d)", again, err, srv.Fetches(), fetches)
	}

	// The annotated tag is peeled to its commit; a subdirectory is the tree.
	r, err = c.Resolve(ctx, parse(t, srv.URL+"/app.git#v1:sub"), "")
	if err != nil || r.Commit != c2 || r.Ref != "refs/tags/v1" {
		t.Fatalf("tag: %+v, %v", r, err)
	}
	sub, err := c.Checkout(ctx, r, gitsource.Options{KeepGitDir: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(sub, "dir", "a.txt")); err != nil || string(b) != "a\n" {
		t.Errorf("subdir checkout: %q, %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(sub, ".git")); err == nil {
		t.Errorf(".git kept with a subdirectory (BuildKit keeps it only for the whole repository)")
	}

	// .git kept: a shallow clone at the commit, origin the remote.
	r, _ = c.Resolve(ctx, parse(t, srv.URL+"/app.git#main"), "")
	kept, err := c.Checkout(ctx, r, gitsource.Options{KeepGitDir: true})
	if err != nil {
		t.Fatal(err)
	}
	if head := strings.TrimSpace(testutil.Git(t, kept, "rev-parse", "HEAD")); head != c2 {
		t.Errorf("kept .git HEAD = %s, want %s", head, c2)
	}
	if origin := strings.TrimSpace(testutil.Git(t, kept, "remote", "get-url", "origin")); origin != srv.URL+"/app.git" {
		t.Errorf("origin = %s", origin)
	}

	// An annotated tag stays annotated in a kept .git (git describe
	// names it), as in BuildKit, even though its commit was fetched
	// through the branch already.
	r, _ = c.Resolve(ctx, parse(t, srv.URL+"/app.git#v1"), "")
	tagged, err := c.Checkout(ctx, r, gitsource.Options{KeepGitDir: true})
	if err != nil {
		t.Fatal(err)
	}
	if typ := strings.TrimSpace(testutil.Git(t, tagged, "cat-file", "-t", "refs/tags/v1")); typ != "tag" {
		t.Errorf("kept .git: refs/tags/v1 is a %s, want the annotated tag", typ)
	}
	if d := strings.TrimSpace(testutil.Git(t, tagged, "describe")); d != "v1" {
		t.Errorf("git describe in the kept .git = %q, want v1", d)
	}

	// A commit id resolves without the network and checks out the old tree.
	r, err = c.Resolve(ctx, parse(t, srv.URL+"/app.git#"+c1), c1[:12])
	if err != nil || r.Commit != c1 {
		t.Fatalf("commit ref: %+v, %v", r, err)
	}
	if _, err := c.Checkout(ctx, r, gitsource.Options{}); err != nil {
		t.Fatal(err)
	}

	// A new commit on the branch is a new checkout.
	c3 := srv.Commit(t, "app", map[string]string{"README": "three\n"})
	r, _ = c.Resolve(ctx, parse(t, srv.URL+"/app.git#main"), "")
	d3, err := c.Checkout(ctx, r, gitsource.Options{})
	if err != nil || r.Commit != c3 || d3 == dir {
		t.Fatalf("new commit: %+v %s %v", r, d3, err)
	}
	if b, _ := os.ReadFile(filepath.Join(d3, "README")); string(b) != "three\n" {
		t.Errorf("new commit's README = %q", b)
	}
}

func TestResolveErrors(t *testing.T) {
	srv := testutil.NewGitServer(t)
	srv.Repo(t, "app")
	head := srv.Commit(t, "app", map[string]string{"f": "x"})
	ctx := t.Context()
	c := newClient(t)
	for _, tc := range []struct{ url, checksum, want string }{
		{srv.URL + "/app.git#nope", "", `has no branch, tag or ref "nope"`},
		{srv.URL + "/missing.git", "", "cannot read the git repository"},
		{"http://127.0.0.1:1/app.git#main", "", "http://127.0.0.1:1/app.git#main: cannot read the git repository"},
		{srv.URL + "/app.git#main", "deadbeef", "checksum mismatch: expected commit deadbeef, but the ref is at commit " + head},
		{srv.URL + "/app.git#main", "xyz", "invalid checksum"},
		{"git@127.0.0.1:org/repo.git", "", "--ssh default"},
	} {
		_, err := c.Resolve(ctx, parse(t, tc.url), tc.checksum)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Resolve(%s, %q) = %v, want %q", tc.url, tc.checksum, err, tc.want)
		}
	}
	r, _ := c.Resolve(ctx, parse(t, srv.URL+"/app.git#main:nodir"), "")
	if _, err := c.Checkout(ctx, r, gitsource.Options{}); err == nil || !strings.Contains(err.Error(), `subdirectory "nodir" does not exist`) {
		t.Errorf("missing subdir: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(c.Dir, "checkouts")); len(entries) != 0 {
		t.Errorf("a failed checkout left %d entries", len(entries))
	}
}

func TestNoGit(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	c := newClient(t)
	_, err := c.Resolve(t.Context(), parse(t, "https://host/r.git#main"), "")
	if !errors.Is(err, gitsource.ErrNoGit) || !strings.Contains(err.Error(), "install git") {
		t.Errorf("without git: %v", err)
	}
}

// TestConcurrentCheckout: builds sharing a root check a commit out once
// and all get the same directory.
func TestConcurrentCheckout(t *testing.T) {
	srv := testutil.NewGitServer(t)
	srv.Repo(t, "app")
	srv.Commit(t, "app", map[string]string{"f": "x\n"})
	dir := t.TempDir()
	ctx := t.Context()
	r, err := (&gitsource.Client{Dir: dir, Tmp: dir}).Resolve(ctx, parse(t, srv.URL+"/app.git#main"), "")
	if err != nil {
		t.Fatal(err)
	}
	dirs := make([]string, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range dirs {
		wg.Go(func() {
			tmp := filepath.Join(dir, "tmp"+strconv.Itoa(i))
			os.Mkdir(tmp, 0o700)
			dirs[i], errs[i] = (&gitsource.Client{Dir: filepath.Join(dir, "git"), Tmp: tmp}).Checkout(ctx, r, gitsource.Options{})
		})
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Errorf("checkout %d: %s, %v (first: %s)", i, dirs[i], errs[i], dirs[0])
		}
	}
	if srv.Fetches() != 1 {
		t.Errorf("%d fetches for one commit", srv.Fetches())
	}
}

package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// rootfsTar builds dir (extra args before the context) with --output
// type=tar and returns the image's files: headers and contents by
// absolute path.
func rootfsTar(t *testing.T, g *testutil.Gorae, dir string, args ...string) (map[string]*tar.Header, map[string]string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rootfs.tar")
	args = append([]string{"build", "-q", "--output", "type=tar,dest=" + out}, args...)
	g.Must(t, dir, args...)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hs, bodies := map[string]*tar.Header{}, map[string]string{}
	for tr := tar.NewReader(f); ; {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hs, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		n := "/" + strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		hs[n] = h
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			bodies[n] = string(b)
		}
	}
}

// checkFile says whether the image holds p with the mode and owner.
func checkFile(t *testing.T, hs map[string]*tar.Header, p string, mode int64, uid, gid int) {
	t.Helper()
	h, ok := hs[p]
	if !ok {
		t.Errorf("%s is not in the image", p)
		return
	}
	if h.Mode&0o7777 != mode || h.Uid != uid || h.Gid != gid {
		t.Errorf("%s: mode %o %d:%d, want %o %d:%d", p, h.Mode&0o7777, h.Uid, h.Gid, mode, uid, gid)
	}
}

// gitRepo serves the repository "app": README, an executable run.sh,
// sub/dir/a.txt and an annotated tag v1; it returns the server and the
// commit.
func gitRepo(t *testing.T) (*testutil.GitServer, string) {
	srv := testutil.NewGitServer(t)
	repo := srv.Repo(t, "app")
	testutil.WriteFiles(t, repo, map[string]string{"run.sh": "#!/bin/sh\necho hi\n"})
	if err := os.Chmod(filepath.Join(repo, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := srv.Commit(t, "app", map[string]string{"README": "one\n", "sub/dir/a.txt": "a\n", "Dockerfile": "FROM busybox\nCOPY . /ctx/\n"})
	testutil.Git(t, repo, "tag", "-a", "-m", "v1", "v1")
	return srv, c
}

// TestAddGit covers ADD of a git repository: a ref and a subdirectory,
// --keep-git-dir (the commit pinned in .git), --chown, file modes,
// --checksum, cache hits on an unchanged commit without fetching and a
// miss on a new one.
func TestAddGit(t *testing.T) {
	g := newGorae(t)
	srv, c1 := gitRepo(t)
	repoURL := srv.URL + "/app.git"
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\n" +
		"ADD " + repoURL + "#main:sub /sub\n" +
		"ADD --keep-git-dir=true " + repoURL + "#v1 /kept\n" +
		"ADD --chown=7:8 --checksum=" + c1[:10] + " " + repoURL + " /whole/\n"})
	hs, bodies := rootfsTar(t, g, dir, ".")
	checkFile(t, hs, "/sub/dir/a.txt", 0o644, 0, 0)
	checkFile(t, hs, "/sub/dir", 0o755, 0, 0)
	checkFile(t, hs, "/whole/run.sh", 0o755, 7, 8)
	checkFile(t, hs, "/whole/README", 0o644, 7, 8)
	checkFile(t, hs, "/kept/README", 0o644, 0, 0)
	if bodies["/sub/dir/a.txt"] != "a\n" || bodies["/whole/README"] != "one\n" {
		t.Errorf("contents: %q %q", bodies["/sub/dir/a.txt"], bodies["/whole/README"])
	}
	for _, p := range []string{"/sub/README", "/whole/.git", "/sub/.git"} {
		if _, ok := hs[p]; ok {
			t.Errorf("%s is in the image", p)
		}
	}
	// The kept .git is a repository at the pinned commit.
	out := filepath.Join(t.TempDir(), "out")
	g.Must(t, dir, "build", "-q", "--output", "type=local,dest="+out, ".")
	if head := strings.TrimSpace(testutil.Git(t, filepath.Join(out, "kept"), "rev-parse", "HEAD")); head != c1 {
		t.Errorf("kept .git is at %s, want %s", head, c1)
	}

	// Unchanged commits: every step cached, nothing fetched.
	iid1, iid2 := filepath.Join(t.TempDir(), "iid1"), filepath.Join(t.TempDir(), "iid2")
	g.Must(t, dir, "build", "--iidfile", iid1, ".")
	fetches := srv.Fetches()
	r := g.Must(t, dir, "build", "--progress=plain", "--iidfile", iid2, ".")
	if a, b := readFile(t, iid1), readFile(t, iid2); a != b || srv.Fetches() != fetches {
		t.Errorf("rebuild of unchanged commits: image %s then %s, %d fetches (was %d)\n%s", a, b, srv.Fetches(), fetches, r.Stderr)
	}

	// A new commit on main: the branch ADDs miss, the pinned tag hits.
	c2 := srv.Commit(t, "app", map[string]string{"sub/dir/a.txt": "changed\n"})
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\n" +
		"ADD " + repoURL + "#main:sub /sub\n" +
		"ADD --keep-git-dir=true " + repoURL + "#v1 /kept\n"})
	_, bodies = rootfsTar(t, g, dir, ".")
	if bodies["/sub/dir/a.txt"] != "changed\n" || srv.Fetches() == fetches {
		t.Errorf("after commit %s: a.txt = %q, fetches %d (was %d)", c2, bodies["/sub/dir/a.txt"], srv.Fetches(), fetches)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAddGitErrors: each bad git source is one clear error naming it,
// exit 1, and no checkout left half-written under the root.
func TestAddGitErrors(t *testing.T) {
	g := newGorae(t)
	srv, c1 := gitRepo(t)
	repoURL := srv.URL + "/app.git"
	wrong := strings.Repeat("0", 40)
	for _, tc := range []struct{ add, want string }{
		{"ADD " + repoURL + "#nope /x", repoURL + `#nope: the repository has no branch, tag or ref "nope"`},
		{"ADD http://127.0.0.1:1/app.git#main /x", "http://127.0.0.1:1/app.git#main: cannot read the git repository"},
		{"ADD --checksum=" + wrong + " " + repoURL + "#main /x", repoURL + "#main: checksum mismatch: expected commit " + wrong + ", but the ref is at commit " + c1},
		{"ADD " + repoURL + "#main:nodir /x", `subdirectory "nodir" does not exist in the repository`},
		{"ADD git@127.0.0.1:org/repo.git#main /x", "git@127.0.0.1:org/repo.git#main: cannot read the git repository"},
	} {
		dir := t.TempDir()
		testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\n" + tc.add + "\n"})
		r := g.Run(t, dir, "build", ".")
		if r.Code != 1 || !strings.Contains(r.Stderr, "Dockerfile:2: ") || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%s: exit %d, want 1 and %q:\n%s", tc.add, r.Code, tc.want, r.Stderr)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(g.Root, "git", "checkouts")); len(entries) != 0 {
		t.Errorf("failed builds left %d checkouts", len(entries))
	}
	if entries, _ := os.ReadDir(filepath.Join(g.Root, "tmp")); len(entries) != 0 {
		t.Errorf("failed builds left %d entries in tmp/", len(entries))
	}
}

// TestAddGitWithoutGit: no git binary is one error saying to install it.
func TestAddGitWithoutGit(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nADD https://127.0.0.1:1/app.git /x\n"})
	g.Env = append(g.Env, "PATH="+t.TempDir())
	r := g.Run(t, dir, "build", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "git is not installed") || !strings.Contains(r.Stderr, "install git") {
		t.Errorf("without git: exit %d\n%s", r.Code, r.Stderr)
	}
}

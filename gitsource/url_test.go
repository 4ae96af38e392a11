package gitsource

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in                          string
		remote, ref, subdir, commit string
		ssh                         bool
	}{
		{in: "https://github.com/moby/buildkit.git", remote: "https://github.com/moby/buildkit.git"},
		{in: "https://host/org/repo.git#main:sub/dir", remote: "https://host/org/repo.git", ref: "main", subdir: "sub/dir"},
		{in: "http://127.0.0.1:8080/repo.git#v1.0", remote: "http://127.0.0.1:8080/repo.git", ref: "v1.0"},
		{in: "https://host/repo.git#:/a/../b/", remote: "https://host/repo.git", subdir: "b"},
		{in: "https://host/repo.git?branch=dev&subdir=x", remote: "https://host/repo.git", ref: "refs/heads/dev", subdir: "x"},
		{in: "https://host/repo.git?tag=v2&checksum=abc1", remote: "https://host/repo.git", ref: "refs/tags/v2", commit: "abc1"},
		{in: "git@github.com:moby/buildkit.git#master", remote: "git@github.com:moby/buildkit.git", ref: "master", ssh: true},
		{in: "ssh://git@host/org/repo.git#main", remote: "ssh://git@host/org/repo.git", ref: "main", ssh: true},
		{in: "git://host/org/repo#main", remote: "git://host/org/repo", ref: "main"},
		{in: "git@host:repo", remote: "git@host:repo", ssh: true},
	} {
		u, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if u.Remote != c.remote || u.Ref != c.ref || u.Subdir != c.subdir || u.Checksum != c.commit || u.SSH != c.ssh {
			t.Errorf("Parse(%q) = %+v", c.in, u)
		}
	}
	for _, s := range []string{
		"https://host/file.tar.gz", "http://host/repo", "./repo.git", "../x.git", "repo.git",
		"github.com/moby/buildkit", "ftp://host/repo.git", "/abs/path.git", "https://host/repo.git.bak",
	} {
		if _, err := Parse(s); !errors.Is(err, ErrNotGit) {
			t.Errorf("Parse(%q) = %v, want ErrNotGit", s, err)
		}
		if IsGit(s) {
			t.Errorf("IsGit(%q)", s)
		}
	}
	for _, s := range []string{
		"https://host/repo.git?branch=a&tag=b", "https://host/repo.git?ref=b#a", "https://host/repo.git?nope=1",
		"https://host/repo.git?keep-git-dir=maybe", "https://host/repo.git?mtime=commit",
	} {
		if _, err := Parse(s); err == nil || errors.Is(err, ErrNotGit) {
			t.Errorf("Parse(%q) = %v, want an option error", s, err)
		}
		if !IsGit(s) {
			t.Errorf("IsGit(%q) = false: a git URL with bad options is still git", s)
		}
	}
	u, _ := Parse("https://host/repo.git?keep-git-dir")
	if u.KeepGitDir == nil || !*u.KeepGitDir {
		t.Errorf("?keep-git-dir: %+v", u)
	}
}

func TestRedact(t *testing.T) {
	if got := Redact("https://user:secret@host/r.git"); got != "https://user:xxxxx@host/r.git" {
		t.Errorf("Redact = %q", got)
	}
	u, _ := Parse("https://user:secret@host/r.git#main:d")
	if s := u.String(); s != "https://user:xxxxx@host/r.git#main:d" {
		t.Errorf("String = %q", s)
	}
}

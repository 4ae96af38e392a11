package gitsource

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Resolved is a git source pinned to one commit.
type Resolved struct {
	URL *URL
	// Ref is the full ref ls-remote matched ("refs/heads/main"), or the
	// commit itself when the URL named one.
	Ref string
	// Commit is the commit checked out (an annotated tag is peeled).
	Commit string
}

// Client runs git for one build: Dir holds the bare repositories and the
// checkouts, Tmp is a directory on the same file system for checkouts in
// progress; SSHAuthSock is the ssh agent for ssh remotes ("" = none).
type Client struct {
	Dir         string
	Tmp         string
	SSHAuthSock string
}

var symrefRe = regexp.MustCompile(`(?m)^ref:\s*(\S+)\s+HEAD$`)

// Resolve pins u to a commit with `git ls-remote`, as BuildKit does: a
// branch wins over a tag of the same name; an empty ref is the remote's
// default branch; a full commit id needs no network. A --checksum (or
// u.Checksum) must be a prefix of the commit (or of the tag object).
func (c *Client) Resolve(ctx context.Context, u *URL, checksum string) (*Resolved, error) {
	if checksum == "" {
		checksum = u.Checksum
	} else if u.Checksum != "" && u.Checksum != checksum {
		return nil, fmt.Errorf("%s: checksum mismatch: --checksum=%s but the URL says %s", u, checksum, u.Checksum)
	}
	if checksum != "" && !isHex(checksum) {
		return nil, fmt.Errorf("%s: invalid checksum %q for a git source: want a commit id (hex)", u, checksum)
	}
	checksum = strings.ToLower(checksum)
	if IsCommit(u.Ref) {
		commit := strings.ToLower(u.Ref)
		if checksum != "" && !strings.HasPrefix(commit, checksum) {
			return nil, mismatch(u, checksum, commit)
		}
		return &Resolved{URL: u, Ref: commit, Commit: commit}, nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, err
	}
	g := git{dir: c.Dir, sshSock: c.SSHAuthSock}
	ref := u.Ref
	if ref == "" {
		out, err := g.run(ctx, "ls-remote", "--symref", "--", u.Remote, "HEAD")
		if err != nil {
			return nil, c.remoteError(u, err)
		}
		m := symrefRe.FindSubmatch(out)
		if m == nil {
			return nil, fmt.Errorf("%s: the repository has no default branch (HEAD): name a ref, e.g. %s#main", u, Redact(u.Remote))
		}
		ref = string(m[1])
	}
	out, err := g.run(ctx, "ls-remote", "--", u.Remote, ref, ref+"^{}")
	if err != nil {
		return nil, c.remoteError(u, err)
	}
	var (
		partial = "refs/" + strings.TrimPrefix(ref, "refs/")
		head    = "refs/heads/" + strings.TrimPrefix(ref, "refs/heads/")
		tag     = "refs/tags/" + strings.TrimPrefix(ref, "refs/tags/")
	)
	var sha, used, headSha, tagSha, peeled string
	for _, line := range strings.Split(string(out), "\n") {
		s, name, _ := strings.Cut(line, "\t")
		switch name {
		case head:
			headSha = s
		case tag:
			tagSha = s
		case tag + "^{}":
			peeled = s
		case partial:
			sha, used = s, name
		}
	}
	if sha == "" && headSha != "" {
		sha, used = headSha, head
	}
	if sha != "" {
		peeled = ""
	}
	if sha == "" && tagSha != "" {
		sha, used = tagSha, tag
	}
	if sha == "" {
		return nil, fmt.Errorf("%s: the repository has no branch, tag or ref %q: check the ref after '#' (git ls-remote %s lists them)", u, ref, Redact(u.Remote))
	}
	if !IsCommit(sha) {
		return nil, fmt.Errorf("%s: git ls-remote gave an invalid commit %q for %s", u, sha, used)
	}
	commit := sha
	if peeled != "" {
		commit = peeled
	}
	if checksum != "" && !strings.HasPrefix(sha, checksum) && !strings.HasPrefix(commit, checksum) {
		return nil, mismatch(u, checksum, commit)
	}
	return &Resolved{URL: u, Ref: used, Commit: commit}, nil
}

func mismatch(u *URL, want, got string) error {
	return fmt.Errorf("%s: checksum mismatch: expected commit %s, but the ref is at commit %s", u, want, got)
}

// remoteError says that the remote could not be read, and for ssh
// remotes what gorae needs.
func (c *Client) remoteError(u *URL, err error) error {
	if err == ErrNoGit {
		return err
	}
	hint := ""
	if u.SSH && c.SSHAuthSock == "" {
		hint = " (an ssh remote needs an ssh agent: pass --ssh default with $SSH_AUTH_SOCK set)"
	}
	return fmt.Errorf("%s: cannot read the git repository: %w%s", u, err, hint)
}

package gitsource

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// URL is a git source as BuildKit's Dockerfile frontend reads it:
// "https://host/org/repo.git#ref:subdir" is Remote
// "https://host/org/repo.git", Ref "ref" and Subdir "subdir".
type URL struct {
	// Remote is what git is given: the URL without fragment and query.
	Remote string
	// Ref is a branch, tag, full ref or commit; "" is the remote's
	// default branch (its HEAD).
	Ref string
	// Subdir is the directory of the repository to use, "" for all of
	// it; clean, relative, without a leading "/".
	Subdir string
	// Checksum is a commit (or a prefix of one) the ref must resolve
	// to, from ?checksum= or ?commit=.
	Checksum string
	// KeepGitDir and Submodules are ?keep-git-dir= and ?submodules=;
	// nil when not given.
	KeepGitDir *bool
	Submodules *bool
	// SSH says git reaches the remote over ssh (ssh:// or the scp-like
	// user@host:path form), which needs an ssh agent.
	SSH bool
}

// ErrNotGit is Parse's answer for a string that is no git URL.
var ErrNotGit = errors.New("not a git URL")

var (
	protoRe = regexp.MustCompile(`^[a-zA-Z0-9]+://`)
	// scpRe is BuildKit's sshutil pattern for user@host:path[?query][#fragment].
	scpRe = regexp.MustCompile(`^([a-zA-Z0-9-_]+)@([a-zA-Z0-9-.]+):(.*?)(?:\?(.*?))?(?:#(.*))?$`)
)

// IsGit reports whether s is a git source by BuildKit's rules: a git://
// or ssh:// URL, user@host:path, or an http(s) URL whose path ends in
// ".git". A string that looks like git but has bad options is git too
// (Parse then says what is wrong).
func IsGit(s string) bool {
	_, err := Parse(s)
	return !errors.Is(err, ErrNotGit)
}

// Parse reads a git source. It returns ErrNotGit for anything else
// (local paths, plain http(s) URLs), and a descriptive error for a git
// URL with invalid options.
func Parse(s string) (*URL, error) {
	if strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") {
		return nil, ErrNotGit
	}
	var (
		u        URL
		query    url.Values
		fragment string
	)
	if proto := protoRe.FindString(s); proto != "" {
		scheme := strings.ToLower(strings.TrimSuffix(proto, "://"))
		switch scheme {
		case "http", "https", "ssh", "git":
		default:
			return nil, ErrNotGit
		}
		pu, err := url.Parse(s)
		if err != nil {
			if scheme == "http" || scheme == "https" {
				return nil, ErrNotGit
			}
			return nil, fmt.Errorf("invalid git URL %q: %w", s, err)
		}
		if (scheme == "http" || scheme == "https") && !strings.HasSuffix(pu.Path, ".git") {
			return nil, ErrNotGit
		}
		query, fragment = pu.Query(), pu.Fragment
		bare := *pu
		bare.Fragment, bare.RawFragment, bare.RawQuery = "", "", ""
		u.Remote = bare.String()
		u.SSH = scheme == "ssh"
	} else if m := scpRe.FindStringSubmatch(s); m != nil {
		q, err := url.ParseQuery(m[4])
		if err != nil {
			return nil, fmt.Errorf("invalid git URL %q: invalid query: %w", s, err)
		}
		query, fragment = q, m[5]
		u.Remote = m[1] + "@" + m[2] + ":" + m[3]
		u.SSH = true
	} else {
		return nil, ErrNotGit
	}
	if fragment != "" {
		ref, sub, _ := strings.Cut(fragment, ":")
		u.Ref, u.Subdir = ref, cleanSubdir(sub)
	}
	if err := u.options(query); err != nil {
		return nil, fmt.Errorf("git URL %s: %w", Redact(s), err)
	}
	return &u, nil
}

func cleanSubdir(s string) string {
	return strings.TrimPrefix(path.Join("/", s), "/")
}

// options applies BuildKit's query options.
func (u *URL) options(q url.Values) error {
	var tag, branch string
	for k, v := range q {
		if len(v) > 1 {
			return fmt.Errorf("query %q has multiple values", k)
		}
		val := ""
		if len(v) == 1 {
			val = v[0]
		}
		flag := func() (*bool, error) {
			if val == "" {
				t := true
				return &t, nil
			}
			b, err := strconv.ParseBool(val)
			if err != nil {
				return nil, fmt.Errorf("invalid %s value: %q", k, val)
			}
			return &b, nil
		}
		if val == "" && k != "submodules" && k != "keep-git-dir" {
			return fmt.Errorf("query %q has no value", k)
		}
		var err error
		switch k {
		case "ref":
			if u.Ref != "" && u.Ref != val {
				return fmt.Errorf("ref conflicts: %q vs %q", u.Ref, val)
			}
			u.Ref = val
		case "tag":
			tag = val
		case "branch":
			branch = val
		case "subdir":
			if u.Subdir != "" && u.Subdir != cleanSubdir(val) {
				return fmt.Errorf("subdir conflicts: %q vs %q", u.Subdir, val)
			}
			u.Subdir = cleanSubdir(val)
		case "checksum", "commit":
			u.Checksum = val
		case "keep-git-dir":
			u.KeepGitDir, err = flag()
		case "submodules":
			u.Submodules, err = flag()
		case "mtime":
			if val != "checkout" {
				return fmt.Errorf("mtime=%s is not supported by gorae (files get the time of their checkout)", val)
			}
		default:
			return fmt.Errorf("unexpected query %q", k)
		}
		if err != nil {
			return err
		}
	}
	if tag != "" {
		if !strings.HasPrefix(tag, "refs/tags/") {
			tag = "refs/tags/" + tag
		}
		if u.Ref != "" && u.Ref != tag {
			return fmt.Errorf("ref conflicts: %q vs %q", u.Ref, tag)
		}
		u.Ref = tag
	}
	if branch != "" {
		if tag != "" {
			return errors.New("branch conflicts with tag")
		}
		if !strings.HasPrefix(branch, "refs/heads/") {
			branch = "refs/heads/" + branch
		}
		if u.Ref != "" && u.Ref != branch {
			return fmt.Errorf("ref conflicts: %q vs %q", u.Ref, branch)
		}
		u.Ref = branch
	}
	return nil
}

// String is the URL in fragment form, credentials removed:
// remote[#ref[:subdir]].
func (u *URL) String() string {
	s := Redact(u.Remote)
	if u.Ref != "" || u.Subdir != "" {
		s += "#" + u.Ref
		if u.Subdir != "" {
			s += ":" + u.Subdir
		}
	}
	return s
}

// Redact removes a password from a URL for messages.
func Redact(s string) string {
	pu, err := url.Parse(s)
	if err != nil || pu.User == nil {
		return s
	}
	if _, ok := pu.User.Password(); !ok {
		return s
	}
	return pu.Redacted()
}

// IsCommit reports whether s is a full commit id (SHA-1 or SHA-256).
func IsCommit(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return isHex(s)
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

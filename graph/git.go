package graph

// Git is a git repository checked out at one commit (ADD <git URL>). No
// inputs. Its result is a directory: the repository's tree, or the tree
// of the subdirectory the URL names.
type Git struct {
	// URL is the source as written, e.g. "https://host/repo.git#main:dir"
	// or "git@host:org/repo.git" (gitsource.Parse reads it).
	URL string
	// Checksum is ADD --checksum: the commit (or a prefix of it) the ref
	// must resolve to; "" = any.
	Checksum string
	// KeepGitDir keeps the .git directory (ADD --keep-git-dir=true).
	KeepGitDir bool
}

func (Git) Kind() string { return "git" }

func (o Git) Encode(e *Encoder) {
	e.String(o.URL)
	e.String(o.Checksum)
	e.Bool(o.KeepGitDir)
}

package frontend

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"

	"github.com/gorae/gorae/gitsource"
	"github.com/gorae/gorae/graph"
)

// copySpec is what COPY and ADD have in common.
type copySpec struct {
	add      bool
	params   instructions.SourcesAndDest
	excludes []string
	chown    string
	chmod    string
	link     bool
	parents  bool
	checksum string
	unpack   *bool
	from     *graph.Node // COPY --from; nil = main context
}

func (x *step) copyCmd(c *instructions.CopyCommand) error {
	cs := copySpec{params: c.SourcesAndDest, excludes: c.ExcludePatterns, chown: c.Chown, chmod: c.Chmod, link: c.Link, parents: c.Parents}
	if len(x.cmd.sources) > 0 {
		src := x.cmd.sources[0]
		if src.state == nil {
			return x.errorf("cannot copy from stage %q, it needs to be defined before current stage %q", c.From, x.s.name)
		}
		cs.from = src.state.node
	}
	return x.copyOp(cs, nil)
}

func (x *step) addCmd(c *instructions.AddCommand) error {
	cs := copySpec{add: true, params: c.SourcesAndDest, excludes: c.ExcludePatterns, chown: c.Chown, chmod: c.Chmod, link: c.Link, checksum: c.Checksum, unpack: c.Unpack}
	return x.copyOp(cs, c.KeepGitDir)
}

func (x *step) copyOp(cs copySpec, keepGitDir *bool) error {
	verb := "COPY"
	if cs.add {
		verb = "ADD"
	}
	if cs.chown != "" && cs.link && chownByName(cs.chown) {
		return x.errorf("--chown=%s: user and group names can't be resolved when used with --link, use numeric uid[:gid] instead", cs.chown)
	}
	if err := checkChmod(cs.chmod); err != nil {
		return x.errorf("%v", err)
	}
	if cs.checksum != "" {
		switch {
		case len(cs.params.SourcePaths) != 1:
			return x.errorf("checksum can't be specified for multiple sources")
		case !isHTTPSource(cs.params.SourcePaths[0]) && !isGitSource(cs.params.SourcePaths[0]):
			return x.errorf("checksum requires HTTP(S) or Git sources")
		case isGitSource(cs.params.SourcePaths[0]):
			if strings.Trim(strings.ToLower(cs.checksum), "0123456789abcdef") != "" {
				return x.errorf("invalid checksum %s for Git URL, expected hex commit hash", cs.checksum)
			}
		case !validDigest(cs.checksum, "sha256:64", "sha384:96", "sha512:128"):
			return x.errorf("invalid checksum %q: want sha256:<64 hex digits>", cs.checksum)
		}
	}
	msg := verb
	if cs.parents {
		msg += " --parents"
	}
	if cs.chown != "" {
		msg += " --chown=" + cs.chown
	}
	if cs.chmod != "" {
		msg += " --chmod=" + cs.chmod
	}
	name := x.name(x.lex, x.st.env, "")
	inputs := []*graph.Node{x.st.node}
	var sources []graph.Source
	local := false
	for _, src := range cs.params.SourcePaths {
		msg += " " + src
		var in *graph.Node
		p := src
		switch {
		case isGitSource(src):
			if !cs.add {
				return x.errorf("source can't be a git ref for COPY")
			}
			g, err := gitNode(src, cs.checksum, keepGitDir)
			if err != nil {
				return x.errorf("%v", err)
			}
			// As BuildKit's source vertex: the URL, apart from the copy step.
			g.Name, g.Pos = gitsource.Redact(src), x.pos()
			in, p = g, "."
		case isHTTPSource(src):
			if !cs.add {
				return x.errorf("source can't be a URL for COPY")
			}
			p = urlFilename(src)
			in = &graph.Node{Op: graph.HTTP{URL: src, Checksum: cs.checksum, Filename: p}, Name: gitsource.Redact(src), Pos: x.pos()}
		default:
			local = true
			in = cs.from
			if in == nil {
				in = x.mainContext()
				x.checkIgnored(verb, src)
			}
		}
		sources = append(sources, graph.Source{Input: inputIndex(&inputs, in), Path: p})
	}
	// Heredocs come after the paths, whatever their order on the line,
	// as in BuildKit (its history text lists them there too).
	for _, doc := range cs.params.SourceContents {
		if doc.Path == "" || doc.Path == "." || doc.Path == ".." || strings.Contains(doc.Path, "/") {
			return x.errorf("%s heredoc <<%s: the delimiter names the file it becomes, so it must be a plain file name (such as EOF or app.conf)", verb, doc.Path)
		}
		msg += " <<" + doc.Path
		sources = append(sources, graph.Source{Path: doc.Path, Data: doc.Data})
	}
	msg += " " + cs.params.DestPath
	unpack := cs.add && local
	if cs.unpack != nil {
		unpack = cs.add && *cs.unpack
	}
	n := &graph.Node{
		Op: graph.Copy{
			Add:     cs.add,
			Sources: sources,
			Dest:    destPath(x.workdirOrRoot(), cs.params.DestPath),
			Chown:   cs.chown,
			Chmod:   cs.chmod,
			// BuildKit links (copies onto an empty layer merged later)
			// only without --chmod; with it, --link is a plain copy.
			Link:       cs.link && cs.chmod == "",
			Parents:    cs.parents,
			Excludes:   cs.excludes,
			Unpack:     unpack,
			KeepGitDir: keepGitDir != nil && *keepGitDir,
		},
		Inputs: inputs,
		Name:   name,
		Pos:    x.pos(),
	}
	x.st.node = n
	x.commit(msg+" # buildkit", n)
	return nil
}

// inputIndex returns n's index in *inputs, appending it the first time.
func inputIndex(inputs *[]*graph.Node, n *graph.Node) int {
	for i, in := range *inputs {
		if i > 0 && in == n {
			return i
		}
	}
	*inputs = append(*inputs, n)
	return len(*inputs) - 1
}

// mainContext is the one node of the main build context.
func (x *step) mainContext() *graph.Node {
	if x.pins.main == nil {
		x.pins.main = &graph.Node{Op: graph.Context{Name: "context", Excludes: x.o.Excludes}, Name: "[internal] load build context"}
	}
	return x.pins.main
}

func (x *step) workdirOrRoot() string {
	if wd := x.st.cfg.Config.WorkingDir; wd != "" {
		return wd
	}
	return "/"
}

// destPath makes a COPY destination absolute against the working
// directory, keeping a trailing "/" (or "/.") that marks a directory.
func destPath(wd, p string) string {
	if p == "." || p == "" {
		p = "./"
	}
	out := p
	if !path.IsAbs(p) {
		out = path.Join(wd, p)
	} else {
		out = path.Clean(p)
	}
	switch {
	case strings.HasSuffix(p, "/") && !strings.HasSuffix(out, "/"):
		out += "/"
	case strings.HasSuffix(p, "/."):
		if out != "/" {
			out += "/"
		}
		out += "."
	}
	return out
}

func checkChmod(chmod string) error {
	if chmod == "" {
		return nil
	}
	if n, err := strconv.ParseUint(chmod, 8, 32); err == nil && n <= 0o7777 {
		return nil
	}
	if strings.Trim(chmod, "0123456789") == "" || !symbolicMode().MatchString(chmod) {
		return fmt.Errorf("invalid chmod parameter: '%v'. it should be octal string and between 0 and 07777", chmod)
	}
	return nil
}

// chownByName reports whether --chown names a user or group instead of a
// numeric id; such names cannot be resolved in a --link layer.
func chownByName(chown string) bool {
	user, group, _ := strings.Cut(chown, ":")
	for _, s := range []string{user, group} {
		if _, err := strconv.Atoi(s); s != "" && err != nil {
			return true
		}
	}
	return false
}

func isHTTPSource(src string) bool {
	return (strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")) && !isGitSource(src)
}

// isGitSource recognizes the remote forms BuildKit treats as git: git://,
// ssh://, user@host:path and http(s) URLs of a .git repository.
func isGitSource(src string) bool { return gitsource.IsGit(src) }

// urlFilename is the name an ADD'ed URL gets: the last path element.
func urlFilename(src string) string {
	u, err := url.Parse(src)
	if err == nil {
		if b := path.Base(u.Path); b != "." && b != "/" {
			return b
		}
	}
	return "__unnamed__"
}

// checkIgnored is CopyIgnoredFile: a main-context source that
// .dockerignore excludes. As in BuildKit, patterns with exclusions ("!")
// are not checked: whether they leave the path in is not static.
func (x *step) checkIgnored(verb, src string) {
	m := x.ignore
	if m == nil || m.Exclusions() {
		return
	}
	src = path.Clean(src)
	if src == "." || src == "/" {
		root := false
		for _, p := range m.Patterns() {
			switch p.String() {
			case "*", "**", "**/*":
				root = true
			}
		}
		if !root {
			return
		}
	}
	if ok, err := m.MatchesOrParentMatches(src); err == nil && ok {
		cmd := "Copy"
		if verb == "ADD" {
			cmd = "Add"
		}
		x.lint.Run(&linter.RuleCopyIgnoredFile, x.cmd.Location(), linter.RuleCopyIgnoredFile.Format(cmd, src))
	}
}

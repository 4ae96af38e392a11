package graph

import "strconv"

// Op is one build step as plain data. Kind names the op type; Encode writes
// every field that changes the result, in a fixed order.
type Op interface {
	Kind() string
	Encode(e *Encoder)
}

// Scratch is the empty filesystem (FROM scratch). No inputs.
type Scratch struct{}

// Image is the root filesystem of a base image. No inputs.
type Image struct {
	// Ref is the normalized name as resolved, e.g.
	// "docker.io/library/busybox:latest" or "127.0.0.1:5000/base/busybox:latest".
	Ref string
	// Digest pins the platform-specific manifest ("sha256:…"), resolved once
	// per build by the frontend's resolver.
	Digest string
	// Platform is "os/arch[/variant]".
	Platform string
}

// Context is a directory given to the build: the main build context
// (Name "context") or a named one from --build-context. No inputs.
type Context struct {
	Name string
	// Excludes are the .dockerignore patterns that apply to it.
	Excludes []string
}

// HTTP is one file fetched from a URL (ADD https://…). No inputs. Its
// result is a filesystem holding the single file Filename at its root.
type HTTP struct {
	URL      string
	Checksum string // "sha256:…" from ADD --checksum, or ""
	Filename string // base name the file gets, from the URL path
}

// Source is one source operand of a Copy: a path inside one of the Copy
// node's inputs, or an inline document (a COPY/ADD heredoc).
type Source struct {
	// Input indexes Node.Inputs (>= 1); 0 marks an inline source.
	Input int
	// Path is, for an input, the path as written (wildcards allowed),
	// relative to that input's root; for an inline source, the name of
	// the file it becomes (the heredoc's delimiter).
	Path string
	// Data is an inline source's content, after variable expansion.
	Data string
}

// Inline reports whether s is an inline document rather than a path in
// one of the node's inputs.
func (s Source) Inline() bool { return s.Input == 0 }

// Copy is COPY or ADD. Inputs[0] is the destination filesystem (the stage
// so far); Inputs[1:] are the filesystems the sources are read from
// (a Context, an Image, another stage's last node, or an HTTP). Inline
// sources (heredocs) need no input.
type Copy struct {
	Add      bool // ADD semantics: local tar archives are extracted
	Sources  []Source
	Dest     string // absolute (WORKDIR applied); a trailing "/" is kept
	Chown    string // "user[:group]" as written, resolved against Inputs[0]
	Chmod    string // octal ("0755") or symbolic ("u+x,g=r"), or ""
	Link     bool
	Parents  bool
	Excludes []string
	// Unpack is false for ADD --unpack=false; ignored for COPY.
	Unpack bool
	// KeepGitDir mirrors ADD --keep-git-dir.
	KeepGitDir bool
}

// Mkdir creates Path with parents, mode 0755, owned by User ("" = root),
// as WORKDIR does. Inputs[0] is the filesystem.
type Mkdir struct {
	Path string
	User string
}

// Mount is one RUN --mount.
type Mount struct {
	Type     string // bind, cache, tmpfs, secret, ssh
	Target   string
	Input    int // for bind/cache with from=: index into Node.Inputs (>=1); 0 = none
	Source   string
	ReadOnly bool
	ID       string
	Sharing  string
	Mode     string // octal, "" when unset
	UID, GID string // "" when unset
	Required bool
	Env      string // secret env=
	Size     int64  // tmpfs size in bytes, 0 = default
}

// Run executes a command. Inputs[0] is the root filesystem; Inputs[1:] are
// filesystems that mounts read from.
type Run struct {
	Args     []string // argv; shell form is already wrapped in the SHELL
	Env      []string // KEY=VALUE in order
	User     string
	Workdir  string
	Network  string // default, none, host
	Security string // sandbox, insecure
	Mounts   []Mount
	// Files are heredoc bodies that must be visible to the command,
	// path → content (e.g. a heredoc script with a shebang).
	Files map[string]string
	// Stdin is fed to the command (a heredoc without a shebang).
	Stdin string
	// ExtraHosts ("host=ip", in order) and Ulimits ("name=soft:hard")
	// are the build's --add-host and --ulimit, which BuildKit keeps in
	// the ExecOp. They are encoded only when set, after a marker, so the
	// keys of RUN steps without them are unchanged.
	ExtraHosts []string
	Ulimits    []string
	// Platform is the stage's platform, "os/arch[/variant]", when it
	// differs from the platform the build runs on (the command runs
	// under emulation), else "". Encoded only when set, after a marker
	// of its own, so that native RUN steps keep their keys.
	Platform string
}

func (Scratch) Kind() string { return "scratch" }
func (Image) Kind() string   { return "image" }
func (Context) Kind() string { return "context" }
func (HTTP) Kind() string    { return "http" }
func (Copy) Kind() string    { return "copy" }
func (Mkdir) Kind() string   { return "mkdir" }
func (Run) Kind() string     { return "run" }

func (Scratch) Encode(*Encoder) {}

func (o Image) Encode(e *Encoder) {
	e.String(o.Ref)
	e.String(o.Digest)
	e.String(o.Platform)
}

func (o Context) Encode(e *Encoder) {
	e.String(o.Name)
	e.Strings(o.Excludes)
}

func (o HTTP) Encode(e *Encoder) {
	e.String(o.URL)
	e.String(o.Checksum)
	e.String(o.Filename)
}

func (o Copy) Encode(e *Encoder) {
	e.Bool(o.Add)
	e.Uvarint(uint64(len(o.Sources)))
	for _, s := range o.Sources {
		e.Uvarint(uint64(s.Input))
		e.String(s.Path)
		// Only inline sources have content; leaving it out of the others
		// keeps the keys of every copy without heredocs as they were.
		if s.Inline() {
			e.String(s.Data)
		}
	}
	e.String(o.Dest)
	e.String(o.Chown)
	e.String(o.Chmod)
	e.Bool(o.Link)
	e.Bool(o.Parents)
	e.Strings(o.Excludes)
	e.Bool(o.Unpack)
	e.Bool(o.KeepGitDir)
}

func (o Mkdir) Encode(e *Encoder) {
	e.String(o.Path)
	e.String(o.User)
}

func (o Run) Encode(e *Encoder) {
	e.Strings(o.Args)
	e.Strings(o.Env)
	e.String(o.User)
	e.String(o.Workdir)
	e.String(o.Network)
	e.String(o.Security)
	e.Uvarint(uint64(len(o.Mounts)))
	for _, m := range o.Mounts {
		e.String(m.Type)
		e.String(m.Target)
		e.Uvarint(uint64(m.Input))
		e.String(m.Source)
		e.Bool(m.ReadOnly)
		e.String(m.ID)
		e.String(m.Sharing)
		e.String(m.Mode)
		e.String(m.UID)
		e.String(m.GID)
		e.Bool(m.Required)
		e.String(m.Env)
		e.String(strconv.FormatInt(m.Size, 10))
	}
	e.Map(o.Files)
	e.String(o.Stdin)
	if len(o.ExtraHosts) > 0 || len(o.Ulimits) > 0 {
		e.String("run/sandbox/v1")
		e.Strings(o.ExtraHosts)
		e.Strings(o.Ulimits)
	}
	if o.Platform != "" {
		e.String("run/platform/v1")
		e.String(o.Platform)
	}
}

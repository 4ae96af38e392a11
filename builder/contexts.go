package builder

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/gitsource"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/root"
)

// StdinContext is Options.ContextDir for a build context read as a tar
// from Options.Stdin (`gorae build - < ctx.tar`).
const StdinContext = "-"

// IsRemoteContext reports whether a build context argument is not a
// local directory: "-" (a tar on standard input), a git URL or an
// http(s) URL of a tarball.
func IsRemoteContext(s string) bool {
	if s == StdinContext {
		return true
	}
	if !gitsource.IsGit(s) && !isHTTP(s) {
		return false
	}
	// As buildx: an existing directory is local even when its name
	// reads as a git URL ("user@host:dir").
	fi, err := os.Stat(s)
	return err != nil || !fi.IsDir()
}

// IsNamedImageContext reports whether a --build-context value names an
// image rather than files: docker-image://REF or oci-layout://DIR.
func IsNamedImageContext(v string) bool {
	return strings.HasPrefix(v, "docker-image://") || strings.HasPrefix(v, "oci-layout://")
}

// urlError is err from fetching the context at v, after label and v's
// URL (credentials redacted), naming the URL once: an error that starts
// with it already gets only the label.
func urlError(label, v string, err error) error {
	u := gitsource.Redact(v)
	if strings.HasPrefix(err.Error(), u) {
		return fmt.Errorf("%s%w", label, err)
	}
	return fmt.Errorf("%s%s: %w", label, u, err)
}

func isHTTP(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// remoteContexts makes every remote build context of o a directory under
// the root, as `docker build` accepts them: the main context may be a
// git URL, a tarball URL or a tar on standard input, and then a relative
// -f names a file inside it; a named context may be a git or tarball
// URL. Image contexts (docker-image://, oci-layout://) leave
// o.Contexts for the resolver (imageContexts). Directories are named by
// content (the commit, the tar's digest), so a rebuild from the same
// source finds its stat cache.
func remoteContexts(ctx context.Context, r *root.Root, o Options) (Options, contextSources, error) {
	o, images, pins, err := fetchContexts(ctx, r, o)
	return o, contextSources{images: images, pins: pins}, err
}

// contextSources are what remoteContexts learnt of a build's contexts:
// the image contexts (imageContexts resolves them) and what each remote
// context resolved to, by name ("context" is the main one), for
// provenance.
type contextSources struct {
	images map[string]string
	pins   map[string]sourcePin
}

func fetchContexts(ctx context.Context, r *root.Root, o Options) (Options, map[string]string, map[string]sourcePin, error) {
	if o.Stdin != nil {
		// A context tar or a Dockerfile (-f -) on standard input.
		o.Stdin = &ctxReader{ctx: ctx, r: o.Stdin}
	}
	images := map[string]string{}
	pins := map[string]sourcePin{}
	named := maps.Clone(o.Contexts)
	for name, v := range o.Contexts {
		switch {
		case IsNamedImageContext(v):
			images[name] = v
			delete(named, name)
		case gitsource.IsGit(v) || isHTTP(v):
			dir, pin, err := fetchContext(ctx, r, o, v, nil)
			if err != nil {
				return o, nil, nil, urlError("--build-context "+name+"=", v, err)
			}
			named[name], pins[name] = dir, pin
		}
	}
	o.Contexts = named
	if !IsRemoteContext(o.ContextDir) {
		return o, images, pins, nil
	}
	if o.ContextDir == StdinContext && o.Dockerfile == "-" {
		return o, nil, nil, &FlagError{Flag: "-f -", Msg: "cannot read both the build context and the Dockerfile from standard input: pass -f FILE, or a context directory"}
	}
	var in io.Reader
	if o.ContextDir == StdinContext {
		if o.Stdin == nil {
			return o, nil, nil, errors.New("build context -: no standard input to read the tar from")
		}
		br := bufio.NewReaderSize(o.Stdin, 64<<10)
		if !looksLikeTar(br) {
			// docker build - < Dockerfile: the Dockerfile, no context.
			// buildx refuses a -f then: it would be silently ignored.
			if o.Dockerfile != "" {
				return o, nil, nil, &FlagError{Flag: "-f " + o.Dockerfile, Msg: "standard input holds a Dockerfile (not a tar of the context), so -f cannot name another one: drop -f, or pipe a tar of the context"}
			}
			empty := filepath.Join(r.Dir, "contexts", "empty")
			if err := os.MkdirAll(empty, 0o755); err != nil {
				return o, nil, nil, err
			}
			o.ContextDir, o.Dockerfile, o.Stdin = empty, "-", br
			return o, images, pins, nil
		}
		in = br
	}
	dir, pin, err := fetchContext(ctx, r, o, o.ContextDir, in)
	if err != nil {
		if o.ContextDir == StdinContext {
			return o, nil, nil, fmt.Errorf("build context from standard input: %w", err)
		}
		return o, nil, nil, urlError("build context ", o.ContextDir, err)
	}
	from := "build context " + gitsource.Redact(o.ContextDir)
	if o.ContextDir == StdinContext {
		from = "the build context on standard input"
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return o, nil, nil, err
	}
	defer root.Close()
	// A remote context is someone else's: its Dockerfile and .dockerignore
	// are read only when they resolve inside it. os.Root refuses a
	// symbolic link out of it (to a host file, that the parser would
	// quote in its errors).
	inside := func(name string) error {
		_, err := root.Stat(name)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return err
		}
		return fmt.Errorf("%s: %s does not resolve inside the context (%v): gorae does not follow a symbolic link out of a remote context", from, name, err)
	}
	if err := inside(".dockerignore"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return o, nil, nil, err
	}
	// docker build: a relative -f names a file in the remote context; an
	// absolute one is a local file.
	if f := o.Dockerfile; f == "" || f != "-" && !filepath.IsAbs(f) {
		if f != "" && !filepath.IsLocal(f) {
			return o, nil, nil, &FlagError{Flag: "-f " + f, Msg: "with a remote build context, -f names a file inside it and cannot leave it"}
		}
		name := f
		if name == "" {
			name = "Dockerfile"
		}
		// Name the file as the user wrote it, not the checkout under
		// the root.
		if err := inside(name); errors.Is(err, os.ErrNotExist) {
			return o, nil, nil, fmt.Errorf("%s has no %s: name the Dockerfile inside it with -f", from, name)
		} else if err != nil {
			return o, nil, nil, err
		}
		if err := inside(name + ".dockerignore"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return o, nil, nil, err
		}
		if f != "" {
			o.Dockerfile = filepath.Join(dir, f)
		}
	}
	o.ContextDir, pins["context"] = dir, pin
	return o, images, pins, nil
}

// fetchContext makes the directory of one remote context: a checkout of
// a git URL, or the extracted tar of an http(s) URL or of in.
func fetchContext(ctx context.Context, r *root.Root, o Options, src string, in io.Reader) (string, sourcePin, error) {
	if in == nil && gitsource.IsGit(src) {
		u, err := gitsource.Parse(src)
		if err != nil {
			return "", sourcePin{}, err
		}
		c := gitClient(r, o)
		res, err := c.Resolve(ctx, u, "")
		if err != nil {
			return "", sourcePin{}, err
		}
		keep, _ := strconv.ParseBool(o.BuildArgs["BUILDKIT_CONTEXT_KEEP_GIT_DIR"])
		if u.KeepGitDir != nil {
			keep = *u.KeepGitDir
		}
		o.Progress.Logf("build context %s is commit %s", u, res.Commit)
		dir, err := c.Checkout(ctx, res, gitsource.Options{KeepGitDir: keep, NoSubmodules: u.Submodules != nil && !*u.Submodules})
		pin := sourcePin{git: u, digest: res.Commit}
		if err == nil {
			if t, terr := c.CommitTime(ctx, res); terr == nil {
				pin.committed = &t
			}
		}
		return dir, pin, err
	}
	if r.Outside {
		// Extracting keeps the tar's owners: only root (in gorae's user
		// namespace, for a rootless gorae) can.
		return "", sourcePin{}, ops.ErrNeedsNamespace
	}
	if d, ok := registryBlob(src, o.Registry); ok && in == nil {
		rc, err := openRegistryBlob(ctx, o.Registry, d)
		if err != nil {
			return "", sourcePin{}, err
		}
		defer rc.Close()
		in = rc
	}
	if in == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return "", sourcePin{}, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", sourcePin{}, fmt.Errorf("download: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", sourcePin{}, fmt.Errorf("download: the server answered %s", resp.Status)
		}
		in = resp.Body
	} else if src == StdinContext {
		src = "" // standard input: a local source, nothing to pin
	}
	dir, digest, err := extractContext(ctx, r, in)
	if src == "" {
		return dir, sourcePin{}, err
	}
	return dir, sourcePin{url: src, digest: digest}, err
}

// extractContext spools a context tar (plain or compressed) under the
// root and extracts it to $GORAE_ROOT/contexts/<digest of the bytes>,
// once: an identical tar later is the same directory.
func extractContext(ctx context.Context, r *root.Root, in io.Reader) (dir, digest string, err error) {
	spool, err := os.CreateTemp(r.Tmp, "context-*.tar")
	if err != nil {
		return "", "", err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(spool, h), in); err != nil {
		return "", "", fmt.Errorf("read: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	digest = "sha256:" + sum
	final := filepath.Join(r.Dir, "contexts", sum)
	if _, err := os.Lstat(final); err == nil {
		now := time.Now() // last used, for gorae prune --filter until= and --keep-storage
		os.Chtimes(final, now, now)
		return final, digest, nil
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return "", "", err
	}
	rc, _, err := archive.Decompress(spool)
	if err != nil {
		return "", "", notTar(err)
	}
	defer rc.Close()
	tr, ok, err := archive.IsTar(rc)
	if err != nil || !ok {
		return "", "", notTar(err)
	}
	tmp, err := os.MkdirTemp(r.Tmp, "context-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", "", err
	}
	if _, err := archive.Apply(ctx, tmp, tr); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return "", "", errors.New("the tar ends early (truncated or damaged): give the whole archive")
		}
		return "", "", fmt.Errorf("extract the tar: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Lstat(final); serr == nil {
			return final, digest, nil // another build extracted the same tar
		}
		return "", "", err
	}
	return final, digest, nil
}

// looksLikeTar says whether the stream's head is a tar, plain or
// compressed.
func looksLikeTar(br *bufio.Reader) bool {
	head, _ := br.Peek(br.Size())
	rc, _, err := archive.Decompress(bytes.NewReader(head))
	if err != nil {
		return false
	}
	defer rc.Close()
	_, ok, _ := archive.IsTar(rc)
	return ok
}

func notTar(err error) error {
	msg := "not a tar archive (plain, gzip, bzip2, xz or zstd): give a tarball of the context, a git URL or a directory"
	if err != nil {
		msg += fmt.Sprintf(" (%v)", err)
	}
	return errors.New(msg)
}

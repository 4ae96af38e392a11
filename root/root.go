package root

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gorae/gorae/cache"
	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/snapshot"
	"github.com/gorae/gorae/store"
)

// Root is an opened $GORAE_ROOT: blobs, image names, unpacked layers and
// cache records, shared safely by concurrent gorae processes.
type Root struct {
	Dir       string
	Content   *content.Store
	Images    *store.Store
	Snapshots *snapshot.Store
	Cache     *cache.Local[*ops.State]
	// Tmp is this process's own directory for in-flight writes.
	Tmp string
	// Notice, when set, is said once, when the root is first used
	// rootless: how RUN's snapshots are made in it.
	Notice string
	// Outside is set by OpenOutside: this process is a rootless gorae
	// outside its user namespace and must not touch snapshots.
	Outside bool
}

// Default is $GORAE_ROOT, else /var/lib/gorae for root, else
// $XDG_DATA_HOME/gorae, else ~/.local/share/gorae.
func Default() string {
	if d := os.Getenv("GORAE_ROOT"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/lib/gorae"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "gorae")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		// No $HOME (a bare runuser, some pods): the passwd entry's.
		if u, uerr := user.Current(); uerr == nil {
			home = u.HomeDir
		}
	}
	return filepath.Join(home, ".local", "share", "gorae")
}

// Open opens (creating if needed) the root at dir. Call Close when
// done so this process's temp directory goes away.
func Open(dir string) (*Root, error) {
	return open(dir, false)
}

// ErrNotRootless is OpenOutside's answer for a directory that holds no
// root of a rootless gorae.
var ErrNotRootless = errors.New("no rootless gorae root")

// OpenOutside opens the root of a rootless gorae from outside its user
// namespace, for a build that only reads the cache (ops.Env.Outside): it
// cleans up nothing after dead processes (their files may belong to
// subordinate ids) and must find a root made rootless (ErrNotRootless).
func OpenOutside(dir string) (*Root, error) {
	if m, err := readMode(dir); err != nil || !m.UserNS {
		return nil, ErrNotRootless
	}
	return open(dir, true)
}

func open(dir string, outside bool) (*Root, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("open gorae root %s: %w (set GORAE_ROOT to a writable directory)", dir, err)
	}
	if !outside {
		cleanStaleTmp(filepath.Join(dir, "tmp"))
	}
	tmp, err := os.MkdirTemp(filepath.Join(dir, "tmp"), strconv.Itoa(os.Getpid())+".")
	if err != nil {
		return nil, fmt.Errorf("open gorae root %s: %w", dir, err)
	}
	r := &Root{Dir: dir, Tmp: tmp, Outside: outside}
	if !outside {
		if r.Notice, err = r.checkMode(); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
	}
	if r.Content, err = content.Open(filepath.Join(dir, "content"), tmp); err != nil {
		return nil, err
	}
	r.Content.SetRemoteFetcher(fetchLazy)
	if r.Images, err = store.Open(filepath.Join(dir, "store"), r.Content); err != nil {
		return nil, err
	}
	openSnapshots := snapshot.Open
	if outside {
		openSnapshots = snapshot.OpenShared
	}
	if r.Snapshots, err = openSnapshots(filepath.Join(dir, "snapshots")); err != nil {
		return nil, err
	}
	if r.Cache, err = cache.Open[*ops.State](filepath.Join(dir, "cache"), tmp); err != nil {
		return nil, err
	}
	// A record is usable while each of its blobs is local or lazy (kept
	// in a registry by a --cache-from build, fetched when read). Records
	// are whole layer chains, so a warm build of N steps asks about the
	// same blobs O(N²) times: each is checked once per process. Blobs
	// are only removed under the exclusive gc.lock, never while a build
	// (which holds it shared) runs.
	var present sync.Map // v1.Hash → struct{}
	r.Cache.Valid = func(s *ops.State) bool {
		for _, l := range s.Layers {
			if _, ok := present.Load(l.Digest); ok {
				continue
			}
			if !r.Content.Has(l.Digest) {
				if _, lazy := r.Content.Remote(l.Digest); !lazy {
					return false
				}
			}
			present.Store(l.Digest, struct{}{})
		}
		return true
	}
	return r, nil
}

// fetchLazy is every command's RemoteFetcher: it reads a lazy layer (one
// a build stored without downloading, see docs/remote-cache.md) from the
// registry repository its record names. A build's --cache-from Fetcher,
// when set, is asked first.
func fetchLazy(ctx context.Context, d v1.Hash, src content.RemoteSource) (io.ReadCloser, int64, error) {
	var opts []name.Option
	if src.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewDigest(src.Ref+"@"+d.String(), opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("parse remote record: %w", err)
	}
	var ro registry.Options
	if src.Insecure {
		ro.Insecure = []string{ref.Context().RegistryStr()}
	}
	l, err := remote.Layer(ref, ro.Remote(ctx)...)
	if err != nil {
		return nil, 0, registry.Explain(err, src.Ref)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, 0, registry.Explain(err, src.Ref)
	}
	return rc, src.Size, nil
}

// Close removes this process's temp directory.
func (r *Root) Close() error { return os.RemoveAll(r.Tmp) }

// cleanStaleTmp removes temp directories of gorae processes that are gone
// (killed before they could clean up).
func cleanStaleTmp(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		pidStr, _, ok := strings.Cut(e.Name(), ".")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil {
			continue
		}
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

package ops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/runner"
	"github.com/gorae/gorae/snapshot"
)

// mounts turns the RUN's --mount specs and heredoc files into sandbox
// mounts. cleanup releases what they needed (temporary overlays for
// bind mounts of stages, heredoc files) and is always safe to call.
func (o *runOp) mounts(ctx context.Context, inputs []*State, uid, gid uint32) (ms []runner.Mount, cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	if len(o.op.Files) > 0 {
		dir, err := os.MkdirTemp(o.env.Tmp, "heredoc-")
		if err != nil {
			return nil, cleanup, err
		}
		undo = append(undo, func() { os.RemoveAll(dir) })
		for p, data := range o.op.Files {
			host := filepath.Join(dir, filepath.Base(p))
			if err := os.WriteFile(host, []byte(data), 0o755); err != nil {
				return nil, cleanup, err
			}
			ms = append(ms, runner.Mount{Type: "bind", Source: host, Target: p, Options: []string{"ro"}})
		}
	}
	for _, m := range o.op.Mounts {
		switch m.Type {
		case "tmpfs":
			opts := []string{"mode=1777"}
			if m.Size > 0 {
				opts = append(opts, "size="+strconv.FormatInt(m.Size, 10))
			}
			ms = append(ms, runner.Mount{Type: "tmpfs", Source: "tmpfs", Target: m.Target, Options: opts})
		case "cache":
			dir, err := o.env.cacheDir(ctx, m)
			if err != nil {
				return nil, cleanup, fmt.Errorf("%s: --mount=type=cache: %w", o.where(), err)
			}
			opt := "rw"
			if m.ReadOnly {
				opt = "ro"
			}
			ms = append(ms, runner.Mount{Type: "bind", Source: dir, Target: m.Target, Options: []string{opt}})
		case "bind":
			src := inputs[m.Input]
			if c, isCtx := o.node.Inputs[m.Input].Op.(graph.Context); isCtx {
				cm, err := o.contextMount(ctx, c, m, &undo)
				if err != nil {
					return nil, cleanup, err
				}
				ms = append(ms, cm)
				continue
			}
			lowers, err := o.env.unpack(ctx, src)
			if err != nil {
				return nil, cleanup, err
			}
			act, err := o.env.Snapshots.Prepare(ctx, lowers)
			if err != nil {
				return nil, cleanup, err
			}
			undo = append(undo, func() { act.Remove() })
			opt := "ro"
			if !m.ReadOnly {
				opt = "rw" // writes land in a throwaway upper directory
			}
			host, err := resolveIn(act.Merged, m.Source)
			if err != nil {
				return nil, cleanup, fmt.Errorf("%s: --mount=type=bind,source=%s: %w", o.where(), m.Source, err)
			}
			ms = append(ms, runner.Mount{Type: "bind", Source: host, Target: m.Target, Options: []string{opt}})
		case "secret", "ssh":
			continue // from the user's machine, not the build: see session
		default:
			return nil, cleanup, fmt.Errorf("%s: RUN --mount=type=%s is not supported yet", o.where(), m.Type)
		}
	}
	return ms, cleanup, nil
}

// CacheMountDir is the directory under mounts ($GORAE_ROOT/mounts) that
// holds the cache mount id.
func CacheMountDir(mounts, id string) string {
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(mounts, hex.EncodeToString(sum[:12]))
}

// cacheDir returns the persistent directory of a cache mount, created
// with its uid, gid and mode on first use (or seeded from an imported
// cache by SeedCacheMount). It lives under $GORAE_ROOT/mounts, never in an
// image or a cache key.
func (e *Env) cacheDir(ctx context.Context, m graph.Mount) (string, error) {
	dir := CacheMountDir(e.Mounts, m.ID)
	if err := os.Chtimes(dir, time.Time{}, time.Now()); err == nil { // exists; mtime = last use, for GC
		return dir, nil
	}
	if err := os.MkdirAll(e.Mounts, 0o700); err != nil {
		return "", err
	}
	if e.SeedCacheMount != nil {
		if err := e.SeedCacheMount(ctx, m.ID, dir); err != nil {
			return "", err
		}
		if err := os.Chtimes(dir, time.Time{}, time.Now()); err == nil {
			return dir, nil
		}
	}
	tmp, err := os.MkdirTemp(e.Mounts, ".new-")
	if err != nil {
		return "", err
	}
	mode := os.FileMode(0o755)
	if m.Mode != "" {
		v, err := strconv.ParseUint(m.Mode, 8, 32)
		if err != nil {
			return "", fmt.Errorf("invalid mode %q", m.Mode)
		}
		mode = os.FileMode(v)
	}
	u, g := 0, 0
	if m.UID != "" {
		u, _ = strconv.Atoi(m.UID)
	}
	if m.GID != "" {
		g, _ = strconv.Atoi(m.GID)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return "", err
	}
	if err := os.Lchown(tmp, u, g); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(dir); serr == nil {
			return dir, nil
		}
		return "", err
	}
	return dir, nil
}

// unpack makes sure a state's layer chain is unpacked and returns its
// directories, bottom first.
func (e *Env) unpack(ctx context.Context, s *State) ([]string, error) {
	layers := make([]snapshot.Layer, len(s.Layers))
	for i, l := range s.Layers {
		layers[i] = snapshot.Layer{DiffID: l.DiffID, Open: e.uncompressed(l), Rewrite: e.rewrite(l.DiffID)}
	}
	return e.Snapshots.Unpack(ctx, layers)
}

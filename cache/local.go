package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gorae/gorae/solver"
)

// Local is a solver.Cache over a directory of JSON records.
type Local[R any] struct {
	dir string
	tmp string
	// Valid reports whether a loaded record can still be used (its blobs
	// exist); nil accepts every record.
	Valid func(R) bool
	// Warn receives records that could not be read; nil drops them.
	Warn func(error)
}

var _ solver.Cache[int] = (*Local[int])(nil)

// Open returns the cache in dir, writing temp files in tmp (same
// filesystem).
func Open[R any](dir, tmp string) (*Local[R], error) {
	for _, d := range []string{dir, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open cache: %w", err)
		}
	}
	return &Local[R]{dir: dir, tmp: tmp}, nil
}

func (c *Local[R]) path(k solver.Key) string {
	s := k.String()
	return filepath.Join(c.dir, s[len("sha256:"):])
}

// Load returns the record for k. A corrupt record is a miss (and a
// warning), never an error: the step is simply rebuilt.
func (c *Local[R]) Load(_ context.Context, k solver.Key) (R, bool, error) {
	var r R
	b, err := os.ReadFile(c.path(k))
	if errors.Is(err, fs.ErrNotExist) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("read cache record: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		if c.Warn != nil {
			c.Warn(fmt.Errorf("cache record %s is corrupt, rebuilding the step: %w", k, err))
		}
		var zero R
		return zero, false, nil
	}
	if c.Valid != nil && !c.Valid(r) {
		var zero R
		return zero, false, nil
	}
	// The record's mtime is its last use: GC removes the least recently
	// used records first. A failed touch only makes the record look older.
	now := time.Now()
	_ = os.Chtimes(c.path(k), now, now)
	return r, true, nil
}

// Save writes the record atomically: a crash leaves the old record or
// none, never half of one.
func (c *Local[R]) Save(_ context.Context, k solver.Key, r R) (err error) {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode cache record: %w", err)
	}
	f, err := os.CreateTemp(c.tmp, "cache-*")
	if err != nil {
		return fmt.Errorf("write cache record: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(b); err != nil {
		return fmt.Errorf("write cache record: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write cache record: %w", err)
	}
	if err = os.Rename(f.Name(), c.path(k)); err != nil {
		return fmt.Errorf("write cache record: %w", err)
	}
	return nil
}

// Clear removes every record (gorae prune --all).
func (c *Local[R]) Clear() error {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.Remove(filepath.Join(c.dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// Each calls fn with every readable record.
func (c *Local[R]) Each(fn func(R)) error {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(c.dir, e.Name()))
		if err != nil {
			continue
		}
		var r R
		if json.Unmarshal(b, &r) == nil {
			fn(r)
		}
	}
	return nil
}

// Record is one stored record as garbage collection sees it.
type Record[R any] struct {
	Path  string
	Value R
	// OK is false for a record that could not be read or parsed.
	OK   bool
	Info fs.FileInfo // its mtime is the record's last Save or Load
}

// Files lists the record files without reading them: GC's cheap size
// check.
func (c *Local[R]) Files() ([]fs.FileInfo, error) {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("list cache records: %w", err)
	}
	out := make([]fs.FileInfo, 0, len(ents))
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil { // else removed meanwhile
			out = append(out, info)
		}
	}
	return out, nil
}

// Records lists every record file, readable or not, so that GC can both
// follow what records reference and remove the corrupt ones.
func (c *Local[R]) Records() ([]Record[R], error) {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("list cache records: %w", err)
	}
	out := make([]Record[R], 0, len(ents))
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		rec := Record[R]{Path: filepath.Join(c.dir, e.Name()), Info: info}
		if b, err := os.ReadFile(rec.Path); err == nil && json.Unmarshal(b, &rec.Value) == nil {
			rec.OK = true
		}
		out = append(out, rec)
	}
	return out, nil
}

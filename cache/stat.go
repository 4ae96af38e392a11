package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileID identifies one version of a file without reading it: device,
// inode, size, mtime and ctime (ns). An edit that restores size and mtime
// (touch -r) still changes ctime.
type FileID [5]int64

// Stats memoizes content digests of one build context's files by FileID,
// persisted between builds so a warm build re-reads no unchanged file.
type Stats struct {
	path string
	tmp  string

	mu      sync.Mutex
	entries map[string]statEntry
	dirty   bool
}

type statEntry struct {
	ID     FileID
	Digest string
}

// OpenStats loads the stat cache of the context directory dir from the
// cache root (a missing or unreadable file is an empty cache).
func OpenStats(root, tmp, dir string) (*Stats, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(abs))
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("open stat cache: %w", err)
	}
	s := &Stats{path: filepath.Join(root, hex.EncodeToString(sum[:16])), tmp: tmp}
	if b, err := os.ReadFile(s.path); err == nil {
		s.entries = decodeStats(b)
	}
	if s.entries == nil {
		s.entries = map[string]statEntry{}
	}
	return s, nil
}

// Get returns the digest recorded for rel if its FileID is unchanged.
func (s *Stats) Get(rel string, id FileID) (string, bool) {
	if id == (FileID{}) {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[rel]
	if !ok || e.ID != id {
		return "", false
	}
	return e.Digest, true
}

// Put records rel's digest for its FileID. A file changed within the
// last couple of seconds is not recorded: it could be rewritten again
// within the same timestamp tick, and the record would then hide the
// edit (git's "racily clean" problem).
func (s *Stats) Put(rel string, id FileID, digest string) {
	if id == (FileID{}) {
		return
	}
	recent := time.Now().Add(-2 * time.Second).UnixNano()
	if id[3] > recent || id[4] > recent {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[rel] = statEntry{ID: id, Digest: digest}
	s.dirty = true
}

// Save writes the cache back atomically if it changed.
func (s *Stats) Save() (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return nil
	}
	f, err := os.CreateTemp(s.tmp, "stats-*")
	if err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(encodeStats(s.entries)); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	if err = os.Rename(f.Name(), s.path); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	s.dirty = false
	return nil
}

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

	mu    sync.Mutex
	file  statIndex  // the entries read from the file
	stale bool       // file was saved since: map it again when read
	added addedStats // Put since; these win over file
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
	s.load()
	return s, nil
}

// load maps and indexes the file (a missing or bad one is an empty
// cache).
func (s *Stats) load() {
	s.file, s.stale = statIndex{}, false
	if b, err := mapFile(s.path); err == nil {
		s.file, _ = indexStats(b)
	}
}

// Get returns the digest recorded for rel if its FileID is unchanged.
func (s *Stats) Get(rel string, id FileID) (string, bool) {
	if id == (FileID{}) {
		return "", false
	}
	s.mu.Lock()
	e, ok := s.added.get(rel)
	if s.stale {
		s.load()
	}
	file := s.file
	s.mu.Unlock()
	if !ok {
		e, ok = file.get(rel)
	}
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
	s.added.put(rel, statEntry{ID: id, Digest: digest})
}

// Save writes the cache back atomically if it changed. It merges the
// file's entries, already sorted, with the sorted new ones straight into
// the new file: a 300,000-file context is not copied into one more map.
// The saved file is mapped again only if Get is called after: a build
// saves once its keys are known, and a copy of the file kept in memory
// would last the whole build for nothing.
func (s *Stats) Save() (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.added.n == 0 {
		return nil
	}
	if s.stale {
		s.load()
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
	if err = writeStats(f, s.file, s.added.ordered()); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	if err = os.Rename(f.Name(), s.path); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	s.file, s.stale = statIndex{}, true
	s.added = addedStats{}
	return nil
}

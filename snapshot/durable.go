package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A chain directory is published by a rename, and nothing reads it but
// gorae; its files reach the disk when the kernel writes them back. It
// used to be flushed with syncfs(2) before the rename, so that a power
// loss could not leave a published directory with empty files. That
// wait is as long as writing the layer to disk (0.4 s for the Debian
// base here) and BuildKit does not pay it.
//
// What a crash of gorae itself leaves is safe without it: the page cache
// holds the data. Only a crash of the machine can lose written data, and
// that starts a new boot. So a chain is published with a marker,
// unsynced/<chain>.<boot ID>, made before the rename; the first Open
// after a reboot removes every chain whose marker names another boot (it
// is unpacked again from its blob when next needed: blobs are synced).
// Markers of this boot older than settleAfter, whose data the kernel has
// long written back, are settled by one syncfs, which then costs little,
// and removed.
const settleAfter = time.Minute

// bootID identifies this boot of the machine ("" where the kernel does
// not say, and chains are synced before they are published instead).
var bootID = sync.OnceValue(func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
})

func (s *Store) unsyncedDir() string { return filepath.Join(s.dir, "unsynced") }

// published makes the chain directory tmp ready to be renamed into place
// as chain: it leaves a marker where the boot is known, and otherwise
// flushes the file system.
func (s *Store) published(chain, tmp string) error {
	boot := bootID()
	if boot == "" {
		return syncDir(tmp)
	}
	if err := os.MkdirAll(s.unsyncedDir(), 0o700); err != nil {
		return fmt.Errorf("mark layer unsynced: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.unsyncedDir(), chain+"."+boot), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("mark layer unsynced: %w", err)
	}
	return f.Close()
}

// settle removes the chains an earlier boot published unsynced, and the
// markers of this boot's chains that are surely on disk by now.
func (s *Store) settle() {
	boot := bootID()
	ents, err := os.ReadDir(s.unsyncedDir())
	if err != nil || boot == "" {
		return
	}
	var old []string
	for _, e := range ents {
		chain, b, ok := strings.Cut(e.Name(), ".")
		if !ok || !isChain(chain) {
			continue
		}
		marker := filepath.Join(s.unsyncedDir(), e.Name())
		if b != boot {
			s.dropUnsynced(chain, marker)
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > settleAfter {
			old = append(old, marker)
		}
	}
	if len(old) == 0 || syncDir(s.dir) != nil {
		return
	}
	for _, m := range old {
		os.Remove(m)
	}
}

// dropUnsynced removes chain, published unsynced before the machine
// last started, and then its marker, under the chain's lock: another
// process that dropped it first has removed the marker, and what it
// unpacked since is this boot's.
func (s *Store) dropUnsynced(chain, marker string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	unlock, err := s.lock(ctx, chain)
	if err != nil {
		return // busy: the next Open tries again
	}
	defer unlock()
	if _, err := os.Lstat(marker); err != nil {
		return
	}
	final := filepath.Join(s.dir, chain)
	stale, err := os.MkdirTemp(s.dir, ".tmp-"+chain+"-")
	if err != nil {
		return
	}
	// Out of sight first, so no reader finds it half removed.
	if err := os.Rename(final, filepath.Join(stale, "old")); err != nil && !errors.Is(err, os.ErrNotExist) {
		os.Remove(stale)
		return
	}
	os.Remove(marker)
	os.RemoveAll(stale)
}

func isChain(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// syncDir flushes the file system dir is on.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("flush layer: %w", err)
	}
	return nil
}

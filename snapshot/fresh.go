package snapshot

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Where a new chain or RUN snapshot lands on ext4, continued from
// spreadNewDirs (topdir.go). ext4 without a journal will not reuse an
// inode freed in the last 60 s while its inode table block is cached: it skips such inodes one by one, from the
// start of the group, for every inode it allocates. A snapshot made in
// the flex group a prune has just emptied therefore costs time that
// grows with the square of its files: after `gorae prune --all`, the
// Debian bench case's first RUN took 3 to 6 s of system time instead of
// 1.2 in one build of two. ext4 picks a new top directory's group
// itself, most often the one with the fewest directories, which is the
// group just emptied.
//
// So the store remembers which flex groups it freed, and when (freedFile,
// written by NoteFreed before gc removes chains and cache mounts). A new
// directory that lands in one of them is kept empty for a moment, which
// makes that group less attractive, and another is made, up to
// spreadTries times; the empty ones are removed. Elsewhere (journaled
// ext4, other file systems) nothing is recorded or checked.

// freedFile, in the store directory, holds "UNIXSECONDS GROUP" lines.
const freedFile = "freed"

// flexInodes is how many inodes one ext4 flex group holds under mke2fs's
// defaults (8,192 inodes per group, 16 groups per flex group). The file
// system does not tell; a wrong guess only makes the check miss, or make
// one empty directory too many.
const flexInodes = 8192 * 16

const spreadTries = 4

// noJournalExt4 reports whether dir is on ext4 mounted without a
// journal, the only file system where a directory lands matters
// here.
func noJournalExt4(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil || st.Type != unix.EXT4_SUPER_MAGIC {
		return false
	}
	var dev unix.Stat_t
	if unix.Stat(dir, &dev) != nil {
		return false
	}
	// /proc/fs/ext4/<device>/options lists a data= mode (ordered,
	// journal, writeback) only for a file system with a journal.
	name, err := os.Readlink(fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(dev.Dev), unix.Minor(dev.Dev)))
	if err != nil {
		return false
	}
	opts, err := os.ReadFile(filepath.Join("/proc/fs/ext4", filepath.Base(name), "options"))
	if err != nil {
		return false
	}
	return !bytes.Contains(opts, []byte("\ndata=")) && !bytes.HasPrefix(opts, []byte("data="))
}

// recentWindow is how long a freed group is avoided. ext4 treats an
// inode as recently freed for 60 s after its deletion (RECENTCY_MIN in
// fs/ext4/ialloc.c; 360 s while its inode table block is dirty, which
// writeback ends within about 35 s), and gc records a group before it
// deletes the trash, which can take a few seconds more.
const recentWindow = 2 * time.Minute

// flexGroup is flexGroupOf, a variable for tests.
var flexGroup = flexGroupOf

// flexGroupOf returns the flex group of path's inode.
func flexGroupOf(path string) (uint64, bool) {
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil {
		return 0, false
	}
	return (st.Ino - 1) / flexInodes, true // inode numbers start at 1
}

// NoteFreed records the flex groups of dirs, which the caller is about to
// remove, in the store at storeDir. Best effort: a failure only loses
// the hint.
func NoteFreed(storeDir string, dirs []string) {
	if len(dirs) > 0 && noJournalExt4(storeDir) {
		recordFreed(storeDir, dirs, time.Now())
	}
}

func recordFreed(storeDir string, dirs []string, now time.Time) {
	groups := recentFreed(storeDir, now)
	for _, d := range dirs {
		if g, ok := flexGroup(d); ok {
			groups[g] = now
		}
	}
	var b strings.Builder
	for g, t := range groups {
		fmt.Fprintf(&b, "%d %d\n", t.Unix(), g)
	}
	tmp, err := os.CreateTemp(storeDir, ".tmp-freed-")
	if err != nil {
		return
	}
	_, err = tmp.WriteString(b.String())
	if cerr := tmp.Close(); err == nil && cerr == nil {
		err = os.Rename(tmp.Name(), filepath.Join(storeDir, freedFile))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

// recentFreed reads the groups freed within recentWindow of now.
func recentFreed(storeDir string, now time.Time) map[uint64]time.Time {
	groups := map[uint64]time.Time{}
	f, err := os.Open(filepath.Join(storeDir, freedFile))
	if err != nil {
		return groups
	}
	defer f.Close()
	since := now.Add(-recentWindow)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ts, gs, _ := strings.Cut(sc.Text(), " ")
		sec, err1 := strconv.ParseInt(ts, 10, 64)
		g, err2 := strconv.ParseUint(gs, 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if t := time.Unix(sec, 0); t.After(since) {
			groups[g] = t
		}
	}
	return groups
}

// mkdirSpread calls mkdir, which makes a new directory under one of the
// store's spread directories and returns its path, until the directory
// is outside the flex groups recently freed (see above), and removes the
// directories it passed over.
func (s *Store) mkdirSpread(mkdir func() (string, error)) (string, error) {
	groups := recentFreed(s.dir, time.Now())
	var skipped []string
	defer func() {
		for _, d := range skipped {
			os.Remove(d)
		}
	}()
	for try := 1; ; try++ {
		dir, err := mkdir()
		if err != nil || len(groups) == 0 || try == spreadTries {
			return dir, err
		}
		if g, ok := flexGroup(dir); !ok || groups[g].IsZero() {
			return dir, nil
		}
		skipped = append(skipped, dir)
	}
}

package snapshot

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cleanActive removes the active snapshots of processes that died
// without ending them: ids are <pid>-<random>, and a snapshot whose pid
// no longer runs and whose owner lock nobody holds (the lock guards
// against a store shared across pid namespaces, where the pid means
// nothing) is unmounted, lazily in case anything still holds it, and
// deleted. It is best effort: a snapshot it cannot remove now is
// tried again at the next Open.
func (s *Store) cleanActive() {
	base := filepath.Join(s.dir, "active")
	ents, err := os.ReadDir(base)
	if err != nil {
		return
	}
	var stale []string
	for _, e := range ents {
		pid, _, ok := strings.Cut(e.Name(), "-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n <= 0 || alive(n) || locked(filepath.Join(base, e.Name())) {
			continue
		}
		stale = append(stale, filepath.Join(base, e.Name()))
	}
	if len(stale) == 0 {
		return
	}
	mounts, _ := Mounts() // unreadable: nothing to unmount, RemoveAll still tries
	for _, dir := range stale {
		// Deepest first, so a mount on top of another comes off first.
		for i := len(mounts) - 1; i >= 0; i-- {
			if m := mounts[i].Point; m == dir || strings.HasPrefix(m, dir+"/") {
				_ = unix.Unmount(m, unix.MNT_DETACH)
			}
		}
		_ = os.RemoveAll(dir)
	}
}

// alive reports whether process pid exists; EPERM means it does but
// belongs to someone else.
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// Mount is one line of /proc/self/mountinfo: where it is mounted and
// the file system type.
type Mount struct {
	Point  string
	FSType string
}

// Mounts lists the mounts of this process's mount namespace, in mount
// order.
func Mounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	defer f.Close()
	var out []Mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// ID parent major:minor root mountpoint options ... - fstype source ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		m := Mount{Point: unescapeMount(fields[4])}
		if i := slices.Index(fields, "-"); i >= 0 && i+1 < len(fields) {
			m.FSType = fields[i+1]
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	return out, nil
}

// unescapeMount decodes the octal escapes (\040 for a space) the kernel
// writes in mountinfo paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownerLock creates dir/owner and holds a flock on it for as long as the
// returned file stays open; it is opened close-on-exec, so the command
// run in the snapshot does not inherit it.
func ownerLock(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "owner"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock snapshot: %w", err)
	}
	return f, nil
}

// locked reports whether some process holds dir's owner lock.
func locked(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "owner"))
	if err != nil {
		return false
	}
	defer f.Close()
	return errors.Is(unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB), unix.EWOULDBLOCK)
}

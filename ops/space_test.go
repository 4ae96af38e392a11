package ops

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheckSpace(t *testing.T) {
	root := t.TempDir()
	if CheckSpace(nil, root) != nil {
		t.Error("CheckSpace(nil) is not nil")
	}
	// A failure on a filesystem with room stays as it was.
	plain := errors.New("Dockerfile:3: RUN false: exit code 1")
	if got := CheckSpace(plain, root, t.TempDir()); got != plain {
		t.Errorf("CheckSpace on a roomy filesystem = %v", got)
	}
	// ENOSPC seen, the partial file removed since: still explained, with
	// the filesystem of the failed write's path.
	enospc := fmt.Errorf("copy /big: %w", &fs.PathError{Op: "write", Path: root + "/tmp/blob-1", Err: syscall.ENOSPC})
	got := CheckSpace(enospc, root)
	var full *DiskFullError
	if !errors.As(got, &full) || !errors.Is(got, syscall.ENOSPC) || full.Dir != root {
		t.Fatalf("CheckSpace(ENOSPC) = %#v", got)
	}
	msg := got.Error()
	for _, want := range []string{"copy /big: write " + root + "/tmp/blob-1: no space left on device: the filesystem of the gorae root " + root, "gorae prune"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Count(strings.ToLower(msg), "no space left on device") != 1 {
		t.Errorf("message repeats itself:\n%s", msg)
	}
	if again := CheckSpace(got, root); again != got {
		t.Errorf("explained twice: %v", again)
	}
	// A sandbox that could not be started because a namespace limit is
	// reached (clone's ENOSPC) says nothing of a disk with room.
	clone := fmt.Errorf("start sandbox init /proc/self/exe: %w", &fs.PathError{Op: "fork/exec", Path: "/proc/self/exe", Err: syscall.ENOSPC})
	if got := CheckSpace(clone, root); got != clone {
		t.Errorf("CheckSpace(clone ENOSPC) on a roomy filesystem = %v", got)
	}
}

// TestDiskFullMessage: a RUN's multi-line error gets the cause on a line
// of its own after the command's output; another filesystem than the
// root is named with its own remedy.
func TestDiskFullMessage(t *testing.T) {
	run := errors.New("Dockerfile:2: RUN save: exit code 1; last lines of its output:\n    saving failed\n")
	e := &DiskFullError{Err: run, Dir: "/var/lib/gorae", Root: "/var/lib/gorae", Avail: 0, Total: 10 << 30}
	want := "    saving failed\nno space left on device: the filesystem of the gorae root /var/lib/gorae ($GORAE_ROOT) is full (0 B free of 10.7 GB); free space (gorae prune"
	if !strings.Contains(e.Error(), want) {
		t.Errorf("RUN message:\n%s\nwant it to contain:\n%s", e.Error(), want)
	}
	e = &DiskFullError{Err: errors.New("write out.tar"), Dir: "/mnt/small", Root: "/var/lib/gorae", Avail: 1000, Total: 1 << 20, Freed: true}
	if got := e.Error(); !strings.Contains(got, "the filesystem of /mnt/small ran out of space") || strings.Contains(got, "prune") {
		t.Errorf("output message: %s", got)
	}
}

// TestCheckSpaceReadOnly: a write refused by a read-only filesystem
// that shows no free space is not explained as a full disk.
func TestCheckSpaceReadOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	if f, err := os.Create(filepath.Join(dir, "fill")); err == nil {
		f.Write(make([]byte, 1<<20)) // until ENOSPC
		f.Close()
	}
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Skipf("remount read-only: %v", err)
	}
	err := os.Mkdir(filepath.Join(dir, "out"), 0o755)
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("mkdir on a read-only tmpfs: %v", err)
	}
	if got := CheckSpace(err, t.TempDir(), dir); got != err {
		t.Errorf("CheckSpace(EROFS) on a read-only filesystem = %v", got)
	}
}

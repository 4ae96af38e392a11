package runner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// devNodes are the host devices a chroot sandbox gets as nodes of its own
// (a namespaced one binds them on a tmpfs /dev).
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

// prepareChroot readies rootfs for IsolationChroot, in gorae's own
// process: the device nodes and the host's /etc/resolv.conf and
// /etc/hosts are created where the image has none. The returned undo
// removes what was created and gives the directories it touched their
// times back, so that the layer diff finds nothing of it.
func prepareChroot(rootfs string) (undo func(), err error) {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, fmt.Errorf("open root file system: %w", err)
	}
	var created []string // in creation order
	times := map[string][2]time.Time{}
	keepTimes := func(dir string) {
		if _, ok := times[dir]; ok {
			return
		}
		if fi, err := root.Lstat(dir); err == nil {
			st := fi.Sys().(*syscall.Stat_t)
			times[dir] = [2]time.Time{time.Unix(st.Atim.Unix()), fi.ModTime()}
		}
	}
	left := map[string]time.Time{} // the touched directories' mtimes once prepared
	undo = func() {
		// A directory the command changed keeps the command's times.
		restore := map[string]bool{}
		for dir := range times {
			fi, err := root.Lstat(dir)
			restore[dir] = err == nil && fi.ModTime().Equal(left[dir])
		}
		for _, p := range slices.Backward(created) {
			root.Remove(p)
		}
		for dir, t := range times {
			if restore[dir] {
				root.Chtimes(dir, t[0], t[1])
			}
		}
		root.Close()
	}
	defer func() {
		if err != nil {
			undo()
		}
	}()
	// create makes name (a directory's child) with mk, unless it exists.
	create := func(name string, mk func() error) error {
		if _, err := root.Lstat(name); err == nil {
			return nil
		}
		keepTimes(path.Dir(name))
		if err := mk(); err != nil {
			return err
		}
		created = append(created, name)
		return nil
	}
	for _, dir := range []string{"dev", "etc"} {
		if fi, err := root.Lstat(dir); err == nil && !fi.IsDir() {
			return nil, fmt.Errorf("/%s in the image is not a directory", dir)
		}
		if err := create(dir, func() error { return root.Mkdir(dir, 0o755) }); err != nil {
			return nil, fmt.Errorf("create /%s: %w", dir, err)
		}
	}
	for _, n := range devNodes {
		var st unix.Stat_t
		if unix.Stat("/dev/"+n, &st) != nil {
			continue
		}
		err := create("dev/"+n, func() error {
			return withTarget(root, "dev", func(p string) error {
				if err := unix.Mknod(filepath.Join(p, n), unix.S_IFCHR|0o666, int(st.Rdev)); err != nil {
					return err
				}
				return unix.Chmod(filepath.Join(p, n), 0o666)
			})
		})
		if err != nil && !errors.Is(err, unix.EPERM) { // without CAP_MKNOD the command goes without
			return nil, fmt.Errorf("create /dev/%s: %w", n, err)
		}
	}
	for _, f := range []string{"etc/resolv.conf", "etc/hosts"} {
		err := create(f, func() error { return copyIn(root, "/"+f, f) })
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	for dir := range times {
		if fi, err := root.Lstat(dir); err == nil {
			left[dir] = fi.ModTime()
		}
	}
	return undo, nil
}

// enterChroot is the init's part of IsolationChroot.
func enterChroot(s *spec) error {
	if err := unix.Chroot(s.Rootfs); err != nil {
		return fmt.Errorf("chroot to %s: %w", s.Rootfs, err)
	}
	return unix.Chdir("/")
}

// copyIn copies the host file src to a new file target inside root.
func copyIn(root *os.Root, src, target string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := root.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create /%s: %w", target, err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		root.Remove(target)
		return fmt.Errorf("write /%s: %w", target, err)
	}
	return nil
}

package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// CreatedPaths lists the paths Run creates inside Process.Rootfs as mount
// points when they are missing, besides the targets of Process.Mounts
// (and their missing parents). They land in an overlay's upper dir, so the
// caller drops those that were not in the lower layers from the layer diff.
// Everything under /dev lives on a tmpfs and never reaches the rootfs.
// (IsolationChroot removes what it creates itself.)
func CreatedPaths() []string {
	return []string{"/proc", "/sys", "/dev", "/etc", "/etc/resolv.conf", "/etc/hosts"}
}

// buildRoot mounts everything the command sees, all under s.Rootfs, in a
// mount namespace of our own. Targets are resolved with os.Root so that
// symlinks in the (untrusted) image never point a mount outside it.
func buildRoot(s *spec) error {
	// Nothing mounted here may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make / a slave mount: %w", err)
	}
	// pivot_root needs the new root to be a mount point.
	if err := unix.Mount(s.Rootfs, s.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind root file system %s: %w", s.Rootfs, err)
	}
	root, err := os.OpenRoot(s.Rootfs)
	if err != nil {
		return fmt.Errorf("open root file system: %w", err)
	}
	defer root.Close()

	const nsd = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := mountIn(root, "proc", true, "proc", "proc", nsd, ""); errors.Is(err, unix.EPERM) {
		// In a user namespace the kernel refuses a new proc while the
		// one we see has paths masked (a container runtime's default):
		// bind it instead, as rootless runtimes do.
		if err := bindIn(root, "/proc", "proc", true, false); err != nil {
			return err
		}
		note("/proc could not be mounted (the container runtime masks parts of it), so RUN sees gorae's own /proc and its processes; allow an unmasked /proc (procMount: Unmasked in Kubernetes) for a private one")
	} else if err != nil {
		return err
	}
	sysFlags := uintptr(nsd)
	if !s.Insecure {
		sysFlags |= unix.MS_RDONLY
	}
	if err := mountIn(root, "sys", true, "sysfs", "sysfs", sysFlags, ""); errors.Is(err, unix.EPERM) {
		// A user namespace may mount sysfs only with a network
		// namespace of its own: with the host's network, bind it.
		if err := bindIn(root, "/sys", "sys", true, !s.Insecure); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if err := buildDev(root); err != nil {
		return err
	}
	for _, f := range []string{"/etc/resolv.conf", "/etc/hosts"} {
		src := f
		if f == "/etc/hosts" && s.HostsFile != "" {
			src = s.HostsFile
		}
		if _, err := os.Stat(src); err != nil {
			continue // a host without one gives the command none either
		}
		if err := bindIn(root, src, f[1:], false, true); err != nil {
			return err
		}
	}
	for _, m := range s.Mounts {
		if err := extraMount(root, m); err != nil {
			return err
		}
	}
	return nil
}

func buildDev(root *os.Root) error {
	if err := mountIn(root, "dev", true, "tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return err
	}
	// Host nodes, bind-mounted like runc and bubblewrap do.
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		if _, err := os.Stat("/dev/" + n); err != nil {
			continue
		}
		if err := bindIn(root, "/dev/"+n, "dev/"+n, false, false); err != nil {
			return err
		}
	}
	if err := mountIn(root, "dev/pts", true, "devpts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return err
	}
	if err := mountIn(root, "dev/shm", true, "shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return err
	}
	links := [][2]string{
		{"pts/ptmx", "dev/ptmx"}, {"/proc/self/fd", "dev/fd"}, {"/proc/self/fd/0", "dev/stdin"},
		{"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"}, {"/proc/kcore", "dev/core"},
	}
	for _, l := range links {
		if err := root.Symlink(l[0], l[1]); err != nil {
			return fmt.Errorf("create /%s: %w", l[1], err)
		}
	}
	return nil
}

func extraMount(root *os.Root, m Mount) error {
	target := strings.TrimPrefix(path.Clean(m.Target), "/")
	if target == "" {
		target = "."
	}
	ro := false
	var data []string
	for _, o := range m.Options {
		switch o {
		case "ro", "readonly":
			ro = true
		case "rw":
			ro = false
		default:
			data = append(data, o)
		}
	}
	switch m.Type {
	case "bind":
		return bindIn(root, m.Source, target, true, ro)
	default:
		flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV)
		if ro {
			flags |= unix.MS_RDONLY
		}
		return mountIn(root, target, true, "tmpfs", "tmpfs", flags, strings.Join(data, ","))
	}
}

// bindIn bind-mounts the host path src onto target inside root, read-only
// when ro. rec makes it recursive (for user-requested directory binds).
func bindIn(root *os.Root, src, target string, rec, ro bool) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	flags := uintptr(unix.MS_BIND)
	if rec {
		flags |= unix.MS_REC
	}
	if err := mountIn(root, target, st.IsDir(), src, "", flags, ""); err != nil {
		return err
	}
	if !ro {
		return nil
	}
	// The bind made a mount point of the resolved path: remount that one
	// read-only, keeping the flags the kernel locked on it.
	return withTarget(root, target, func(p string) error {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err != nil {
			return fmt.Errorf("statfs /%s: %w", target, err)
		}
		flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
		flags |= uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
		if err := unix.Mount("", p, "", flags, ""); err != nil {
			return fmt.Errorf("remount /%s read-only: %w", target, err)
		}
		return nil
	})
}

// mountIn mounts onto target inside root, creating it (a directory when dir,
// else an empty file) when missing.
func mountIn(root *os.Root, target string, dir bool, src, fstype string, flags uintptr, data string) error {
	if err := ensure(root, target, dir); err != nil {
		return err
	}
	return withTarget(root, target, func(p string) error {
		if err := unix.Mount(src, p, fstype, flags, data); err != nil {
			return fmt.Errorf("mount %s on /%s: %w", src, target, err)
		}
		return nil
	})
}

func ensure(root *os.Root, target string, dir bool) error {
	name, exists, err := resolveIn(root, target)
	if err != nil || exists {
		return err
	}
	if dir {
		err = root.MkdirAll(name, 0o755)
	} else if err = root.MkdirAll(path.Dir(name), 0o755); err == nil {
		var f *os.File
		if f, err = root.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			err = f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("create mount point /%s: %w", target, err)
	}
	return nil
}

// withTarget calls fn with a /proc/self/fd path naming target as resolved
// inside root: the kernel mounts onto exactly that inode, so no symlink
// can send the mount elsewhere.
func withTarget(root *os.Root, target string, fn func(p string) error) error {
	name, _, err := resolveIn(root, target)
	if err != nil {
		return err
	}
	f, err := root.OpenFile(name, unix.O_PATH, 0)
	if err != nil {
		return fmt.Errorf("open mount point /%s: %w", target, err)
	}
	defer f.Close()
	return fn("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
}

// resolveIn resolves every symlink in target as if root were "/" (absolute
// links restart at root, ".." stops there), the way the command will see
// the path after pivot_root. os.Root alone refuses absolute links, which
// images are full of. It reports whether the whole path exists; a missing
// tail is returned as is.
func resolveIn(root *os.Root, target string) (name string, exists bool, err error) {
	var done []string
	todo := strings.Split(target, "/")
	exists = true
	for links := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := path.Join(append(done, c)...)
		if !exists {
			done = append(done, c)
			continue
		}
		fi, err := root.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			exists = false
			done = append(done, c)
			continue
		}
		if err != nil {
			return "", false, fmt.Errorf("resolve /%s: %w", target, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		if links++; links > 40 {
			return "", false, fmt.Errorf("resolve /%s: %w", target, unix.ELOOP)
		}
		link, err := root.Readlink(cur)
		if err != nil {
			return "", false, fmt.Errorf("resolve /%s: %w", target, err)
		}
		if path.IsAbs(link) {
			done = nil
		}
		todo = append(strings.Split(link, "/"), todo...)
	}
	if len(done) == 0 {
		return ".", exists, nil
	}
	return path.Join(done...), exists, nil
}

// pivotRoot makes rootfs the root and detaches the old one, so no host path
// is reachable any more, not even by chroot tricks.
func pivotRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("change to root file system: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("pivot_root to %s: %w: in a container, its seccomp profile forbids pivot_root (Docker's default and Kubernetes' RuntimeDefault do, even with CAP_SYS_ADMIN): run gorae with deploy/seccomp/gorae.json (docs/rootless.md)", rootfs, err)
		}
		return fmt.Errorf("pivot_root to %s: %w", rootfs, err)
	}
	// The old root is now stacked on "."; keep host mount events out of it
	// and drop it.
	if err := unix.Mount("", ".", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make old root a slave mount: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return unix.Chdir("/")
}
